"""Near-duplicate finder: recall and precision of pairs on generated copies, per level.

Run: ``python tests/benchmarks/bench_near_duplicates.py [--split heldout|tuning]
[--originals 280] [--distinct 190]``. Not collected by pytest.

Photos: the Imagenette photos the shipped default model never trained on (its 10%
held out by split seed 2022), shuffled (seed 7) and halved: the *tuning* half is what
the levels of `sscq_desktop.library.search.duplicates` were tuned on, the *heldout* half
(default) is what the figures are reported on. From each of `--originals` photos the
benchmark makes one copy, the edits taken in turn (`EDITS`: resized 0.4-0.8x or 1.2-2x, re-encoded at
JPEG quality 30-90, cropped by 5-15% of its area, rotated 1-4 degrees and straightened,
brightened or darkened by 15-30%, stored sideways with an EXIF orientation, padded like
a screenshot with a plain border of 5-40%): one copy each, so a group is a question
about that edit alone (several copies of one photo that do not all match each other
are split, as groups never chain; ``--all-edits`` makes all seven of each original to
see that); `--distinct` further photos of the same ten
classes are the hard negatives. Everything goes through the real `Library` (scan, decode
in worker processes, hashes, the shipped default model from resources/), then
`Library.near_duplicates` at every level. A predicted pair is two photos in one group;
a true pair is two copies of one original. Printed: pair precision and recall overall,
recall of original-edit pairs per edit type, groups, and the seconds each search took.
``--scale N`` also times the pair search alone on N random photos (the 100k question).
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import run_job
from sscq_desktop.library.search.duplicates import DUPLICATE_LEVELS, find_pairs
from sscq_desktop.paths import app_paths
from training.data.image_folder import list_images
from training.data.sources import holdout_split

HOLDOUT_SEED = 2022  # the trainer's split: these photos never trained the default model
HALVES_SEED = 7

EDITS = (
    "resize",
    "reencode",
    "crop",
    "rotate",
    "brightness",
    "exif_rotated",
    "padding",
)


def make_edit(src: Image.Image, kind: str, rng: np.random.Generator, out: Path) -> Path:
    """Write one edited copy of `src` next to `out` (suffix chosen here); returns its path."""
    im = src.convert("RGB")
    w, h = im.size
    if kind == "resize":
        f = rng.uniform(0.4, 0.8) if rng.random() < 0.5 else rng.uniform(1.2, 2.0)
        im = im.resize(
            (max(8, round(w * f)), max(8, round(h * f))), Image.Resampling.LANCZOS
        )
        im.save(out.with_suffix(".jpg"), quality=92)
        return out.with_suffix(".jpg")
    if kind == "reencode":
        im.save(out.with_suffix(".jpg"), quality=int(rng.integers(30, 91)))
        return out.with_suffix(".jpg")
    if kind == "crop":
        f = rng.uniform(0.05, 0.15)  # fraction of the area removed
        keep = np.sqrt(1 - f) if rng.random() < 0.5 else None
        if keep is not None:
            cw, ch = round(w * keep), round(h * keep)
        elif rng.random() < 0.5:
            cw, ch = round(w * (1 - f)), h
        else:
            cw, ch = w, round(h * (1 - f))
        x0 = int(rng.integers(0, w - cw + 1))
        y0 = int(rng.integers(0, h - ch + 1))
        im = im.crop((x0, y0, x0 + cw, y0 + ch))
    elif kind == "rotate":
        a = float(rng.uniform(1.0, 4.0)) * (1 if rng.random() < 0.5 else -1)
        r = im.rotate(a, resample=Image.Resampling.BICUBIC, expand=False)
        t = np.tan(np.radians(abs(a)))
        mx, my = (
            int(np.ceil(h * t)),
            int(np.ceil(w * t)),
        )  # straighten: crop the corners
        im = r.crop((mx, my, w - mx, h - my))
    elif kind == "brightness":
        f = rng.uniform(0.7, 0.85) if rng.random() < 0.5 else rng.uniform(1.15, 1.35)
        im = ImageEnhance.Brightness(im).enhance(f)
    elif kind == "exif_rotated":
        orientation = 6 if rng.random() < 0.5 else 8
        stored = im.transpose(
            Image.Transpose.ROTATE_90
            if orientation == 6
            else Image.Transpose.ROTATE_270
        )
        exif = Image.Exif()
        exif[0x0112] = orientation
        stored.save(out.with_suffix(".jpg"), quality=90, exif=exif)
        return out.with_suffix(".jpg")
    elif kind == "padding":
        colour = [(255, 255, 255), (0, 0, 0), (240, 240, 240), (30, 30, 30)][
            int(rng.integers(4))
        ]
        scale = rng.uniform(0.6, 1.0)
        inner = im.resize(
            (round(w * scale), round(h * scale)), Image.Resampling.LANCZOS
        )
        pw = round(w * scale * rng.uniform(0.05, 0.4))
        ph = round(h * scale * rng.uniform(0.05, 0.4))
        canvas = Image.new("RGB", (inner.width + 2 * pw, inner.height + 2 * ph), colour)
        canvas.paste(inner, (pw, ph))
        canvas.save(out.with_suffix(".png"))
        return out.with_suffix(".png")
    else:
        raise ValueError(kind)
    im.save(out.with_suffix(".jpg"), quality=90)
    return out.with_suffix(".jpg")


def source_photos(data: Path, split: str) -> list[Path]:
    """The held-out photos of `data`, shuffled, in the half named `split`."""
    listed = list_images(data)
    _, held = holdout_split(len(listed), fraction=0.1, seed=HOLDOUT_SEED)
    order = np.random.default_rng(HALVES_SEED).permutation(len(held))
    half = len(order) // 2
    chosen = order[:half] if split == "tuning" else order[half:]
    return [listed[int(held[i])] for i in chosen]


def build_photos(
    sources: list[Path],
    folder: Path,
    *,
    originals: int,
    distinct: int,
    seed: int,
    all_edits: bool = False,
) -> dict[Path, tuple[int, str]]:
    """Write originals, their edited copies and distinct photos; path -> (source, edit)."""
    if originals + distinct > len(sources):
        raise SystemExit(
            f"only {len(sources)} photos in this half: ask for fewer than "
            f"{originals} originals + {distinct} distinct"
        )
    rng = np.random.default_rng(seed)
    truth: dict[Path, tuple[int, str]] = {}
    for i, src_path in enumerate(sources[: originals + distinct]):
        with Image.open(src_path) as src:
            src.load()
            orig = folder / f"p{i:04d}_orig.jpg"
            src.convert("RGB").save(orig, quality=95)
            truth[orig] = (i, "orig")
            if i < originals:
                kinds = EDITS if all_edits else (EDITS[i % len(EDITS)],)
                for kind in kinds:
                    out = folder / f"p{i:04d}_{kind}"
                    truth[make_edit(src, kind, rng, out)] = (i, kind)
    return truth


def evaluate(
    library: Library, truth: dict[Path, tuple[int, str]]
) -> list[tuple[str, float, float, float, dict[str, float], int, float]]:
    """Per level: precision, recall (all true pairs), recall of original-edit pairs,
    recall per edit, groups and seconds."""
    by_name = {p.name: t for p, t in truth.items()}
    true_pairs: set[frozenset[str]] = set()
    by_source: dict[int, list[str]] = {}
    for name, (src, _) in by_name.items():
        by_source.setdefault(src, []).append(name)
    for names in by_source.values():
        true_pairs.update(frozenset(p) for p in itertools.combinations(names, 2))
    orig_edit = {
        pair: next(by_name[n][1] for n in pair if by_name[n][1] != "orig")
        for pair in true_pairs
        if any(by_name[n][1] == "orig" for n in pair)
    }
    rows = []
    for level in DUPLICATE_LEVELS:
        t0 = time.perf_counter()
        groups = run_job(library.near_duplicates(level=level.key))
        seconds = time.perf_counter() - t0
        found: set[frozenset[str]] = set()
        for g in groups:
            found.update(
                frozenset((a.name, b.name))
                for a, b in itertools.combinations(g.paths, 2)
            )
        hits = found & true_pairs
        precision = len(hits) / len(found) if found else 1.0
        recall = len(hits) / len(true_pairs)
        oe_hits = [pair for pair in orig_edit if pair in found]
        per_edit = {
            kind: sum(1 for p in oe_hits if orig_edit[p] == kind)
            / sum(1 for p in orig_edit if orig_edit[p] == kind)
            for kind in EDITS
        }
        rows.append(
            (level.label, precision, recall, len(oe_hits) / len(orig_edit), per_edit,
             len(groups), seconds)
        )  # fmt: skip
    return rows


def time_pair_search(n: int) -> float:
    """Seconds `find_pairs` takes at the default level on `n` random photos."""
    rng = np.random.default_rng(0)
    dh = rng.integers(0, 2**63, n, dtype=np.uint64)
    ph = rng.integers(0, 2**63, n, dtype=np.uint64)
    emb = rng.normal(size=(n, 128)).astype(np.float32)
    t0 = time.perf_counter()
    run_job(find_pairs(dh, ph, emb, DUPLICATE_LEVELS[1]))
    return time.perf_counter() - t0


def main() -> None:
    """Build the photos, ingest them with the default model, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data", type=Path, default=Path("/tmp/data/imagenette2-224/train")
    )
    parser.add_argument("--split", choices=("heldout", "tuning"), default="heldout")
    parser.add_argument("--originals", type=int, default=280)
    parser.add_argument("--distinct", type=int, default=190)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--all-edits",
        action="store_true",
        help="every edit of every original (copies that need not match each other)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--scale", type=int, default=0, help="also time N random photos"
    )
    args = parser.parse_args()
    from sscq_desktop.library.ingest.ingest import IngestOptions

    with tempfile.TemporaryDirectory(prefix="sscq-bench-dups-") as tmp:
        root = Path(tmp)
        folder = root / "photos"
        folder.mkdir()
        t0 = time.perf_counter()
        sources = source_photos(args.data, args.split)
        truth = build_photos(
            sources, folder, originals=args.originals, distinct=args.distinct,
            seed=args.seed, all_edits=args.all_edits,
        )  # fmt: skip
        made = time.perf_counter() - t0
        library = Library(
            app_paths(root / "home"),
            ingest_options=IngestOptions(workers=args.workers),
        )
        t0 = time.perf_counter()
        library.add_folder(folder)
        run_job(library.scan())
        summary = run_job(library.ingest())
        ingested = time.perf_counter() - t0
        print(
            f"{args.split} half of {args.data}: {args.originals} originals + "
            f"{'every edit' if args.all_edits else 'one copy'} each + "
            f"{args.distinct} distinct = {len(truth)} photos "
            f"(made in {made:.0f} s, ingested in {ingested:.0f} s, "
            f"{summary.errors} failed; model {library.active_model_id})"
        )
        rows = evaluate(library, truth)
        library.close()
    head = "| level | pair precision | pair recall | original-copy recall | "
    head += " | ".join(EDITS) + " | groups | seconds |"
    print(head)
    print("|" + "---|" * (6 + len(EDITS)))
    for label, precision, recall, oe, per_edit, groups, seconds in rows:
        cells = " | ".join(f"{per_edit[k]:.2f}" for k in EDITS)
        print(
            f"| {label} | {precision:.3f} | {recall:.3f} | {oe:.3f} | {cells} | "
            f"{groups} | {seconds:.2f} |"
        )
    if args.scale:
        print(
            f"pair search alone, {args.scale} random photos: {time_pair_search(args.scale):.1f} s"
        )


if __name__ == "__main__":
    main()
