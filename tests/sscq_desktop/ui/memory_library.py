"""An in-memory `LibraryBackend` for GUI tests: real files, the real encoder and core search.

Stands in for `sscq_desktop.library.Library` (still being written) so GUI tests exercise
decoding, encoding and ADC search for real; only the catalog is a dict. Its retrain runs a
real child process (`fake_trainer.py`) that speaks the trainer's JSON-lines protocol.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from sscq_desktop.core import adc_search, distance_tables
from sscq_desktop.library.image_loader import load_image
from sscq_desktop.model.artifact import ModelArtifact, read_artifact
from sscq_desktop.model.encoder import OnnxEncoder
from sscq_desktop.model.preprocessing import to_model_input
from sscq_desktop.model.trainer_events import DoneEvent, parse_line
from sscq_desktop.ui.library_backend import (
    FailedPhoto,
    FolderState,
    Hit,
    ModelInfo,
    Photo,
    RetrainRequest,
    RetrainResult,
    RetrainUpdate,
    ThumbnailInfo,
)

HERE = Path(__file__).resolve().parent
TESTS_DIR = HERE.parents[1]
SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    rate: float = 0.0
    eta_s: float | None = None
    phase: str = "ingest"


@dataclass
class _Entry:
    photo: Photo
    embedding: np.ndarray
    codes: np.ndarray


class MemoryLibrary:
    """Photos, embeddings and codes in dicts; models in a folder."""

    def __init__(
        self,
        default: ModelArtifact,
        *,
        models_dir: Path,
        trainer_args: Sequence[str] = (),
        batch: int = 16,
    ) -> None:
        self._lock = threading.RLock()
        self._folders: list[Path] = []
        self._entries: dict[str, _Entry] = {}
        self._failed: dict[str, str] = {}  # path -> reason; ingest tries them each time
        self._models: dict[str, tuple[ModelArtifact, bool]] = {
            default.model_id: (default, True)
        }
        self._encoders: dict[str, OnnxEncoder] = {}
        self._active = default.model_id
        self.models_dir = models_dir
        # Thumbnails written at ingest, as the real library's are (the GUI shows only these).
        self.thumbnails_dir = models_dir.parent / "memory-thumbnails"
        self._thumbnails: dict[str, Path] = {}
        self.trainer_args = list(trainer_args)
        self.batch = batch
        self.ingest_delay_s = 0.0  # tests slow ingest down to watch progress
        self.watch_interval_s = 0.1
        self._ids = itertools.count(1)
        self.search_count = 0
        # What the label-free check of a retrained model says (the real one is
        # `sscq_desktop.library.model_check`); tests flip ``better`` to keep a model.
        self.retrain_check: dict[str, Any] = {
            "better": True,
            "summary": "The new model finds a heavily edited copy of a photo first 62% "
            "of the time, the current one 48% (on 120 photos the new model did not "
            "train on).",
            "reason": "its score is higher by 0.120 (at least 0.030 needed)",
            "new_score": 0.7,
            "active_score": 0.58,
            "n_photos": 120,
        }

    # -- folders and ingest ---------------------------------------------------

    def folders(self) -> Sequence[FolderState]:
        with self._lock:
            out = []
            for folder in self._folders:
                count = sum(
                    1 for e in self._entries.values() if e.photo.folder == folder
                )
                if folder.is_dir():
                    out.append(FolderState(folder, count))
                else:
                    out.append(
                        FolderState(
                            folder, count, "missing", f"{folder} is no longer on disk"
                        )
                    )
            return out

    def add_folder(self, path: Path) -> None:
        if not path.is_dir():
            raise FileNotFoundError(2, "No such folder", str(path))
        with self._lock:
            if path not in self._folders:
                self._folders.append(path)

    def remove_folder(self, path: Path) -> None:
        with self._lock:
            self._folders.remove(path)
            self._entries = {
                k: e for k, e in self._entries.items() if e.photo.folder != path
            }

    def photos(self) -> Sequence[Photo]:
        with self._lock:
            return [e.photo for e in self._entries.values()]

    def failed_count(self) -> int:
        with self._lock:
            return len(self._failed)

    def failed_photos(self, *, limit: int) -> Sequence[FailedPhoto]:
        with self._lock:
            items = sorted(self._failed.items())[:limit]
        return [FailedPhoto(Path(p), reason) for p, reason in items]

    def thumbnail(self, path: Path) -> ThumbnailInfo:
        with self._lock:
            reason = self._failed.get(str(path))
            thumb = self._thumbnails.get(str(path))
        if reason is not None:
            return ThumbnailInfo("failed", reason=reason)
        if thumb is None:
            return ThumbnailInfo("unknown")
        return ThumbnailInfo("ready", thumb)

    def render_image(self, path: Path, *, max_side: int) -> np.ndarray:
        image = load_image(path, thumbnail_size=max_side).image
        image.thumbnail((max_side, max_side))
        return np.asarray(image, dtype=np.uint8)

    def _write_thumbnail(self, path: Path) -> None:
        with Image.open(path) as im:
            thumb = ImageOps.exif_transpose(im).convert("RGB")
        thumb.thumbnail((256, 256))
        name = hashlib.sha1(os.fsencode(path)).hexdigest() + ".jpg"
        self.thumbnails_dir.mkdir(parents=True, exist_ok=True)
        thumb.save(self.thumbnails_dir / name, quality=90)
        with self._lock:
            self._thumbnails[str(path)] = self.thumbnails_dir / name

    def retry_failed(self) -> int:
        with self._lock:
            count, self._failed = len(self._failed), {}
        return count

    def ingest(
        self, *, cancel: threading.Event, pause: threading.Event
    ) -> Iterator[Progress]:
        with self._lock:
            folders = list(self._folders)
        todo: list[tuple[Path, Path]] = []
        for folder in folders:
            if not folder.is_dir():
                continue  # shown as missing by folders(); never fatal
            for root, _dirs, files in os.walk(folder):
                for name in sorted(files):
                    path = Path(root) / name
                    if (
                        path.suffix.lower() in SUFFIXES
                        and str(path) not in self._entries
                    ):
                        todo.append((folder, path))
        with self._lock:
            encoder = self._encoder(self._active)
        start = time.monotonic()
        done = 0
        yield Progress(0, len(todo))
        for i in range(0, len(todo), self.batch):
            while pause.is_set() and not cancel.is_set():
                cancel.wait(0.02)
            if cancel.is_set():
                return
            chunk = todo[i : i + self.batch]
            pixels, ok = [], []
            for folder, path in chunk:
                try:
                    pixels.append(_decode(path, encoder))
                    self._write_thumbnail(path)
                    ok.append((folder, path))
                except OSError as exc:
                    with self._lock:
                        self._failed[str(path)] = f"cannot read this image: {exc}"
                    continue
                with self._lock:
                    self._failed.pop(str(path), None)
            if pixels:
                out = encoder.encode(np.stack(pixels))
                with self._lock:
                    for j, (folder, path) in enumerate(ok):
                        photo = Photo(
                            photo_id=next(self._ids),
                            path=path,
                            folder=folder,
                            mtime=path.stat().st_mtime,
                        )
                        self._entries[str(path)] = _Entry(
                            photo, out.embedding[j].copy(), out.codes[j].copy()
                        )
            done += len(chunk)
            if self.ingest_delay_s:
                time.sleep(self.ingest_delay_s)
            rate = done / max(time.monotonic() - start, 1e-6)
            yield Progress(done, len(todo), rate, (len(todo) - done) / rate)

    def watch(
        self, *, cancel: threading.Event, pause: threading.Event
    ) -> Iterator[Progress]:
        """Polls the folders every `watch_interval_s` (the real library uses watchdog)."""
        yield Progress(0, 0, phase="watch")
        yield from self.ingest(cancel=cancel, pause=pause)
        seen = self._disk_files()
        batches = 0
        while not cancel.wait(self.watch_interval_s):
            now = self._disk_files()
            if now == seen:
                continue
            seen = now
            with self._lock:
                self._entries = {k: e for k, e in self._entries.items() if k in now}
                self._failed = {k: r for k, r in self._failed.items() if k in now}
            yield from self.ingest(cancel=cancel, pause=pause)
            batches += 1
            yield Progress(batches, 0, phase="watch")

    def _disk_files(self) -> set[str]:
        with self._lock:
            folders = list(self._folders)
        return {
            str(Path(root) / name)
            for folder in folders
            for root, _dirs, files in os.walk(folder)
            for name in files
            if Path(name).suffix.lower() in SUFFIXES
        }

    # -- search ---------------------------------------------------------------

    def similar_to_photo(
        self, photo_id: int, *, k: int, threshold: float, folders: Sequence[Path] | None
    ) -> Sequence[Hit]:
        with self._lock:
            entry = next(
                e for e in self._entries.values() if e.photo.photo_id == photo_id
            )
            return self._search(
                entry.embedding, k, threshold, folders, exclude=photo_id
            )

    def similar_to_file(
        self, path: Path, *, k: int, threshold: float, folders: Sequence[Path] | None
    ) -> Sequence[Hit]:
        with self._lock:
            encoder = self._encoder(self._active)
        if not path.is_file():
            raise FileNotFoundError(2, "No such file", str(path))
        emb = encoder.encode(_decode(path, encoder)[None]).embedding[0]
        with self._lock:
            return self._search(emb, k, threshold, folders, exclude=None)

    def _search(
        self,
        query: np.ndarray,
        k: int,
        threshold: float,
        folders: Sequence[Path] | None,
        *,
        exclude: int | None,
    ) -> list[Hit]:
        self.search_count += 1
        entries = list(self._entries.values())
        if not entries:
            return []
        meta = self._models[self._active][0].metadata
        codes = np.stack([e.codes for e in entries])
        tables = distance_tables(query[None], meta.codebooks)
        all_d = tables[0][np.arange(meta.M)[None, :], codes].sum(axis=1)
        d_max = float(all_d.max()) or 1.0
        mask = None
        if folders is not None:
            mask = np.array([e.photo.folder in folders for e in entries])
        excl = [i for i, e in enumerate(entries) if e.photo.photo_id == exclude]
        dist, ids = adc_search(
            query[None],
            meta.codebooks,
            codes,
            min(k, len(entries)),
            mask=mask,
            exclude=np.array(excl or [-1]),
        )
        hits = []
        for d, i in zip(dist[0], ids[0], strict=True):
            if i < 0:
                continue
            score = max(0.0, 1.0 - float(d) / d_max)
            if score >= threshold:
                p = entries[i].photo
                hits.append(Hit(p.photo_id, p.path, p.folder, float(d), score))
        return hits

    def near_duplicates(self, *, threshold: float) -> Sequence[Sequence[Photo]]:
        with self._lock:
            entries = list(self._entries.values())
        if len(entries) < 2:
            return []
        emb = np.stack([e.embedding for e in entries])
        d = np.linalg.norm(emb[:, None] - emb[None], axis=2)
        score = 1.0 - d / (d.max() or 1.0)
        seen: set[int] = set()
        groups = []
        for i in range(len(entries)):
            if i in seen:
                continue
            members = [
                j
                for j in range(len(entries))
                if j not in seen and score[i, j] >= threshold
            ]
            if len(members) > 1:
                seen.update(members)
                groups.append([entries[j].photo for j in members])
        return groups

    # -- models ---------------------------------------------------------------

    def active_model(self) -> ModelInfo:
        with self._lock:
            return self._info(self._active)

    def models(self) -> Sequence[ModelInfo]:
        with self._lock:
            return [self._info(m) for m in self._models]

    def provider_name(self) -> str:
        with self._lock:
            return self._encoder(self._active).provider_name

    def register_model(self, path: Path) -> ModelInfo:
        artifact = read_artifact(path)
        self.models_dir.mkdir(parents=True, exist_ok=True)
        dest = self.models_dir / f"{artifact.model_id}.onnx"
        shutil.copyfile(path, dest)
        with self._lock:
            self._models[artifact.model_id] = (read_artifact(dest), False)
            return self._info(artifact.model_id)

    def switch_model(
        self, model_id: str, *, cancel: threading.Event, pause: threading.Event
    ) -> Iterator[Progress]:
        with self._lock:
            encoder = self._encoder(model_id)
            entries = list(self._entries.items())
        new: dict[str, _Entry] = {}
        yield Progress(0, len(entries))
        for i in range(0, len(entries), self.batch):
            if cancel.is_set():
                return  # the old model stays active
            chunk = entries[i : i + self.batch]
            out = encoder.encode(
                np.stack([_decode(e.photo.path, encoder) for _, e in chunk])
            )
            for j, (key, e) in enumerate(chunk):
                new[key] = _Entry(e.photo, out.embedding[j].copy(), out.codes[j].copy())
            yield Progress(min(i + self.batch, len(entries)), len(entries))
        with self._lock:
            self._entries.update(new)
            self._active = model_id

    def retrain(
        self, request: RetrainRequest, *, cancel: threading.Event
    ) -> Iterator[RetrainUpdate]:
        with self._lock:
            previous: str | None = self._active
        out = self.models_dir / "incoming" / f"trained-{time.time_ns()}.onnx"
        out.parent.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable,
            str(HERE / "fake_trainer.py"),
            "--out",
            str(out),
            "--steps",
            str(request.max_steps or 5),
            *self.trainer_args,
        ]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), str(TESTS_DIR.parent)]),
        }
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        artifact: Path | None = None
        try:
            while True:
                if cancel.is_set():
                    proc.kill()
                    return
                try:
                    line = lines.get(timeout=0.02)
                except queue.Empty:
                    continue
                if line is None:
                    break
                event = parse_line(line)
                if event is None:
                    continue
                if isinstance(event, DoneEvent):
                    artifact = event.artifact
                yield event
            code = proc.wait()
            if code != 0 or artifact is None:
                assert proc.stderr is not None
                raise RuntimeError(
                    f"the trainer exited with code {code}: {proc.stderr.read().strip()[-300:]}"
                )
            # As `LibraryAdapter.retrain`: register, check and decide, switch nothing.
            model = self.register_model(artifact)
            check = self.retrain_check
            checked = int(check["n_photos"]) > 0
            yield RetrainResult(
                model,
                better=bool(check["better"]),
                checked=checked,
                summary=str(check["summary"]) if checked else "",
                reason=str(check["reason"]),
                previous_model=previous,
            )
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            reader.join(timeout=5)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()

    # -- helpers --------------------------------------------------------------

    def _info(self, model_id: str) -> ModelInfo:
        artifact, is_default = self._models[model_id]
        return ModelInfo(model_id, artifact.metadata.nbits, is_default)

    def _encoder(self, model_id: str) -> OnnxEncoder:
        if model_id not in self._encoders:
            self._encoders[model_id] = OnnxEncoder(
                self._models[model_id][0], device="cpu", intra_op_threads=1
            )
        return self._encoders[model_id]


def _decode(path: Path, encoder: OnnxEncoder) -> np.ndarray:
    meta = encoder.metadata
    with Image.open(path) as im:
        upright = ImageOps.exif_transpose(im)
        return to_model_input(upright, size=meta.input.size, policy=meta.input.resize)
