"""Typed training configuration: dataclasses, TOML recipes and dotted-key overrides.

Every field has a default and a one-line comment of advice (DINO-style). A recipe
(`training/recipes/*.toml`) sets a few of them; `--set section.field=value` overrides
any. The resolved config is stored in every checkpoint and in the exported artifact.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"


@dataclass
class DataConfig:
    """Where training images come from and how they become model inputs."""

    source: str = "folder"  # "folder" (any photo tree), "image_list" (a file naming the photos), "cifar10" (the archive) or "synthetic"
    path: str = ""  # image folder, image list file, or the cifar10-jpeg.tar.gz archive; empty = shared default
    cache_dir: str = ""  # decoded-pixel cache; empty = $SSCQ_TRAINING_CACHE or ~/.cache/sscq-desktop-data
    image_size: int = 32  # model input side S; 32 for CIFAR, 64-128 for photos on a CPU
    store_size: int = 0  # side of the cached pixels crops are drawn from; 0 = image_size, ~1.25*S is good for photos
    resize: str = "center_crop"  # resize policy (sscq_desktop.model.preprocessing); exported with the model
    holdout_fraction: float = (
        0.0  # photos with class folders: fraction held out as eval queries (0.1 works)
    )
    list_labels: str = "none"  # source="image_list": "none" (unlabeled, never evaluated) or "parent" (folder name = class, with holdout_fraction > 0)
    split_seed: int = (
        2022  # fixed seed of the query/database split, recorded with every metric
    )
    synthetic_images: int = (
        64  # source="synthetic": how many generated images (tests, smoke runs)
    )
    exclude_classes: str = ""  # folders: comma-separated class subfolder names kept out of training and evaluation entirely (categories never seen, for retrain tests); a partly unknown list is refused
    crop_scale_min: float = 0.08  # RandomResizedCrop's smallest area fraction (METHOD.md: 0.08; 0.2 measured better on short CPU runs)
    blur_sigma_max: float = 2.0  # Gaussian blur (kernel 3, sigma 0.1 to this), always applied as METHOD.md says; 0 turns blur off
    color_jitter: float = 0.4  # ColorJitter brightness/contrast/saturation strength (hue = a quarter of it); 0 turns colour jitter off
    augment_backend: str = (
        "tensor"  # "tensor" (batched kornia, CPU or GPU) or "pil" (per image, CPU)
    )


@dataclass
class ModelConfig:
    """Backbone, projection head and product quantizer."""

    backbone: str = "cifar_resnet18"  # "cifar_resnet18" (paper, 32 px), "convpool" (plain conv+pool, fastest per CPU-minute), "compact" (small ResNet) or "depthwise" (MobileNet-style)
    width: float = 1.0  # width multiplier of convpool/compact/depthwise; 0.5 halves channels (about 4x fewer FLOPs)
    n_codebooks: int = 8  # M; 4/8/16 codebooks give 16/32/64-bit codes with nbits=4
    nbits: int = (
        4  # bits per codebook, ksub = 2**nbits codewords; 4 is the paper's K=16
    )
    dsub: int = 16  # L, codeword dimension; the embedding has M*L dimensions
    tau_sq: float = (
        0.2  # soft-quantization temperature on squared distances (METHOD.md: 0.2)
    )
    search_codes: str = "opq"  # what the exported codes quantize: "opq" (after training: L2-normalised f, OPQ rotation, k-means codebooks fitted on the training photos; models/search_codes.py) or "learned" (f and the jointly learned codebooks, as METHOD.md)
    search_codebooks: int = 0  # M of the fitted search codes (0: model.n_codebooks); 4/8/16 give 16/32/64-bit codes from one network
    search_fit_images: int = (
        50000  # training photos (a fixed-seed sample) the search codes are fitted on
    )
    search_fit_iterations: int = (
        8  # OPQ rounds (k-means PQ, then the Procrustes rotation)
    )


@dataclass
class LossConfig:
    """Loss kind and weights (METHOD.md, "Losses")."""

    kind: str = "sscq"  # "sscq" (this method) or "spq" (SPQ's cross quantized contrastive baseline)
    w_ic_z: float = 1.0  # instance contrastive on z; 1.0 is the method, 0 the authors' release (degenerates)
    w_ic_f: float = 1.0  # instance contrastive on f; same advice as w_ic_z
    tau_ic: float = 0.5  # NT-Xent temperature
    w_cc: float = 0.4  # consistent contrastive regularisation on v = f + z
    tau_cc: float = 0.2  # its softmax temperature
    w_pn: float = 0.1  # part neighbour consistency
    k_pn: int = 20  # neighbours per row (clipped to the batch); keep <= batch/4
    tau_pn: float = 0.5  # its temperature
    w_cd: float = 0.2  # codeword diversity (negative entropy of mean soft usage)
    tau_cd: float = (
        1.0  # its temperature on cosines; 1 (METHOD.md) is nearly flat, try 0.1
    )
    tau_spq: float = 0.5  # SPQ loss temperature
    w_local: float = (
        1.0  # weight of the small crops' contrastive terms (data.local_crops > 0)
    )


@dataclass
class OptimConfig:
    """Adam with per-step linear warm-up then cosine decay."""

    lr: float = (
        5e-4  # peak learning rate; 5e-4 for batch 256 (scale linearly with batch)
    )
    weight_decay: float = 1e-5  # Adam's L2 weight decay
    batch_size: int = 256  # global batch (split over DDP ranks); drop last
    epochs: int = (
        800  # schedule length without a time budget; the paper uses 800 on CIFAR-10
    )
    warmup_epochs: float = (
        10.0  # linear warm-up length, capped at warmup_max_fraction of all steps
    )
    warmup_max_fraction: float = (
        0.05  # cap that keeps short (time-budget) runs mostly in cosine
    )
    warmup_start_lr: float = 1e-5  # learning rate at step 0
    min_lr_ratio: float = 0.1  # the cosine ends at this fraction of lr
    max_steps: int = 0  # > 0 caps the schedule at this many steps (tests, smoke runs)


@dataclass
class RunConfig:
    """Devices, speed switches, budget, logging and checkpoints."""

    seed: int = (
        2022  # the authors' seed; changes data order, init and augmentation draws
    )
    device: str = "auto"  # "auto" (CUDA if present), "cpu" or "cuda"
    amp: str = "auto"  # "auto" = bf16 on CUDA and fp32 on CPU; "bf16" or "off" to force
    channels_last: bool = False  # NHWC convolutions: turn on for GPUs (tensor cores); measured slower on CPUs
    compile: bool = (
        False  # torch.compile the network; worth it for runs over ~10 minutes on a GPU
    )
    threads: int = 0  # CPU threads for torch; 0 keeps torch's choice (all cores)
    time_budget_min: float = (
        0.0  # > 0 fits the whole schedule into this many minutes (measured pace)
    )
    budget_clock: str = "wall"  # what time_budget_min counts: "wall" (seconds on the clock) or "cpu" (this process's CPU seconds, all threads; fair under contention)
    probe_steps: int = (
        5  # steps timed (after one warm-up step) to size a time-budgeted schedule
    )
    refit_every_steps: int = (
        50  # re-size a time-budgeted schedule from the recent pace every N steps
    )
    log_every_steps: int = 10  # progress events every N steps (JSON lines)
    checkpoint_every_min: float = (
        10.0  # write last.pt at least this often (and at every epoch end)
    )
    eval_every_epochs: int = (
        0  # evaluate every N epochs (0 = only at the end); best.pt follows eval mAP
    )
    eval_at_end: bool = True  # evaluate the last checkpoint when labels exist
    stop_at_step: int = 0  # > 0 pauses at this step (checkpoint written); --resume continues the schedule
    max_bad_steps: int = (
        20  # NaN guard: stop after this many consecutive non-finite losses
    )


@dataclass
class TrainConfig:
    """The whole resolved configuration of a run."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (JSON/TOML/torch.save friendly)."""
        return dataclasses.asdict(self)


def config_from_dict(raw: dict[str, Any]) -> TrainConfig:
    """Build a config from a nested dict, refusing unknown sections and keys.

    Raises:
        ValueError: naming an unknown section or key, or a value of the wrong type.
    """
    cfg = TrainConfig()
    for section, values in raw.items():
        if not isinstance(values, dict):
            raise ValueError(
                f"config section {section!r} must be a table, got {values!r}"
            )
        for key, value in values.items():
            set_field(cfg, f"{section}.{key}", value)
    return cfg


def load_recipe(path: str | Path) -> TrainConfig:
    """Read a TOML recipe; a bare name like ``debug_cpu`` looks in `RECIPES_DIR`."""
    p = Path(path)
    if (
        not p.exists()
        and (RECIPES_DIR / f"{p.name.removesuffix('.toml')}.toml").exists()
    ):
        p = RECIPES_DIR / f"{p.name.removesuffix('.toml')}.toml"
    with p.open("rb") as handle:
        return config_from_dict(tomllib.load(handle))


def apply_overrides(cfg: TrainConfig, overrides: list[str]) -> TrainConfig:
    """Apply ``section.field=value`` strings (values parsed as TOML, else kept as strings)."""
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} must look like section.field=value")
        try:
            value: Any = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        set_field(cfg, key.strip(), value)
    return cfg


def set_field(cfg: TrainConfig, dotted: str, value: Any) -> None:
    """Set ``section.field`` on `cfg`, coercing ints to floats where the field is a float.

    Raises:
        ValueError: for an unknown key or a value of the wrong type.
    """
    section_name, _, key = dotted.partition(".")
    section = getattr(cfg, section_name, None)
    if section is None or not dataclasses.is_dataclass(section):
        raise ValueError(f"unknown config section {section_name!r} in {dotted!r}")
    fields = {f.name: f for f in dataclasses.fields(section)}
    if key not in fields:
        raise ValueError(f"unknown config key {dotted!r}; known: {sorted(fields)}")
    current = getattr(section, key)
    if isinstance(current, bool):
        ok = isinstance(value, bool)
    elif isinstance(current, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(current, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ValueError(f"{dotted} expects {type(current).__name__}, got {value!r}")
    setattr(section, key, value)
