"""The CIFAR-10 CPU comparison and the GPU recipe, at tiny size on a CIFAR-shaped archive."""

from __future__ import annotations

import pytest

from training.benchmark import cifar10_cpu, cifar10_gpu
from training.evaluation.kmeans_pq import PcaProjection, train_pq_codebook

TINY = [
    "optim.batch_size=20",
    "optim.max_steps=2",
    "loss.k_pn=5",
    "model.width=0.25",
    "run.threads=1",
]


def test_cifar10_cpu_table_has_every_arm(tiny_cifar_archive, cache_dir, tmp_path):
    result = cifar10_cpu(
        0.05, out=tmp_path, overrides=[*TINY, f'data.path="{tiny_cifar_archive}"']
    )
    table = result["table"]
    assert set(table) == {
        "sscq",
        "sscq_ic0",
        "spq",
        "pca_kmeans_pixels",
        "random_init_kmeans",
    }
    assert all(0.0 <= row["map"] <= 1.0 for row in table.values())
    assert table["sscq"]["map_at"] == 60 and result["bits"] == 32
    assert (tmp_path / "cifar10_cpu.json").is_file()


def test_cifar10_gpu_recipe_runs_on_cpu_at_tiny_size(
    tiny_cifar_archive, cache_dir, tmp_path
):
    overrides = [
        *TINY,
        f'data.path="{tiny_cifar_archive}"',
        'model.backbone="compact"',
        "run.compile=false",
        'run.device="cpu"',
    ]
    result = cifar10_gpu(0.05, out=tmp_path, overrides=overrides)
    assert result["map"] is not None and result["steps"] == 2


def test_kmeans_pq_recovers_clustered_subspaces():
    import numpy as np

    rng = np.random.default_rng(0)
    centers = rng.normal(0, 10, (2, 4, 3))  # (M, K, L)
    x = np.concatenate([centers[m][rng.integers(0, 4, 400)] for m in range(2)], axis=1)
    book = train_pq_codebook(x.astype(np.float32) + 0.01, n_codebooks=2, ksub=4)
    for m in range(2):
        dists = np.linalg.norm(book[m][:, None] - centers[m][None], axis=2).min(axis=0)
        assert dists.max() < 0.1
    assert PcaProjection(x.astype(np.float32), 2).transform(
        x[:5].astype(np.float32)
    ).shape == (5, 2)


def test_cifar10_cpu_runs_chosen_arms_for_fixed_steps(
    tiny_cifar_archive, cache_dir, tmp_path
):
    overrides = [*TINY, f'data.path="{tiny_cifar_archive}"', "model.n_codebooks=4"]
    overrides.remove("optim.max_steps=2")
    result = cifar10_cpu(
        60.0,
        out=tmp_path,
        overrides=overrides,
        arms=("sscq", "random_init_kmeans"),
        steps_per_arm=3,
    )
    assert set(result["table"]) == {"sscq", "random_init_kmeans"}
    assert result["table"]["sscq"]["steps"] == 3 and result["steps_per_arm"] == 3
    assert result["bits"] == 16 and result["minutes_per_arm"] is None


def test_cifar10_cpu_rejects_unknown_arms(tmp_path):
    with pytest.raises(ValueError, match="unknown arms"):
        cifar10_cpu(1.0, out=tmp_path, overrides=[], arms=("sscq", "dino"))


def test_benchmark_command_line_checks_arms_and_steps(capsys):
    from training.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(
        ["benchmark", "cifar10-cpu", "--arms", "sscq, spq", "--steps-per-arm", "649"]
    )
    assert args.arms == ("sscq", "spq") and args.steps_per_arm == 649
    assert parser.parse_args(["benchmark", "cifar10-cpu"]).arms is None  # all five
    for bad in (["--arms", "sscq,dino"], ["--arms", ","], ["--steps-per-arm", "-1"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["benchmark", "cifar10-cpu", *bad])
    err = capsys.readouterr().err
    assert "unknown arms ['dino']" in err and "sscq_ic0" in err and "size48" in err
