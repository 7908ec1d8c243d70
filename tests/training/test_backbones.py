"""The backbone families: shapes, widths, and an exact ONNX export the app can run."""

from __future__ import annotations

import pytest
import torch

from sscq_desktop.model.artifact import read_artifact
from training.config import ModelConfig, TrainConfig
from training.export import check_parity, export_artifact
from training.models.conv_pool_net import ConvPoolNet, DepthwiseNet, scaled_channels
from training.models.sscq_model import BACKBONES, build_model


@pytest.mark.parametrize("cls", [ConvPoolNet, DepthwiseNet])
@pytest.mark.parametrize(("size", "spatial"), [(32, 4), (48, 6), (64, 4)])
def test_backbone_output_width_and_final_resolution(cls, size, spatial):
    net = cls(width=0.5, image_size=size).eval()
    feats = net.features(torch.rand(2, 3, size, size))
    assert feats.shape == (2, 128, spatial, spatial)  # stride-2 stem from 64 px on
    assert net(torch.rand(2, 3, size, size)).shape == (2, net.out_dim)


def test_width_scales_channels_in_multiples_of_eight():
    assert scaled_channels(1.0) == [32, 64, 128, 256]
    assert scaled_channels(1.5) == [48, 96, 192, 384]
    assert scaled_channels(0.1) == [8, 8, 16, 24]
    with pytest.raises(ValueError, match="width must be positive"):
        scaled_channels(0.0)


def test_unknown_backbone_names_the_known_ones():
    with pytest.raises(ValueError, match="convpool"):
        build_model(ModelConfig(backbone="vgg"), image_size=32)
    assert {"convpool", "depthwise", "compact"} <= set(BACKBONES)


@pytest.mark.parametrize("backbone", ["convpool", "depthwise"])
def test_new_backbones_export_to_an_artifact_onnxruntime_matches(backbone, tmp_path):
    cfg = TrainConfig()
    cfg.model.backbone, cfg.model.width, cfg.data.image_size = backbone, 0.5, 64
    torch.manual_seed(0)
    model = build_model(cfg.model, image_size=64)
    with torch.no_grad():  # non-trivial BatchNorm statistics, as after training
        model.train()
        for _ in range(3):
            model(torch.rand(16, 3, 64, 64))
    model.eval()
    artifact = export_artifact(
        model, cfg, tmp_path / "m.onnx", model_id=f"{backbone}-test",
        training={"data": "test"}, companion=False,
    )  # fmt: skip
    assert read_artifact(tmp_path / "m.onnx").metadata.model_id == f"{backbone}-test"
    report = check_parity(model, artifact)
    assert report.codes_agree == {1: True, 64: True}
