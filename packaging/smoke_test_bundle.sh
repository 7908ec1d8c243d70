#!/usr/bin/env bash
# Smoke test of the built bundle (packaging/build_bundle.sh), run offscreen, outside the venv:
#   1. sscq-desktop --version
#   2. generated JPEGs: `sscq-desktop --home H [--model M] index FOLDER --json`
#   3. `sscq-desktop --home H similar QUERY --top 3 --json`: 3 hits, the query's original first
#   4. `sscq-desktop --home H doctor --json`: all good, and which execution provider runs
#   5. the GUI executable starts offscreen and stays up (killed after a few seconds)
#   6. the trainer hand-off (`-m training`): a clear error event without a trainer Python;
#      with one (SSCQ_DESKTOP_PYTHON, default .venv/bin/python when it has torch) it runs
#      `python -m training --help`
# Model: the bundle's default model when it has one; otherwise a tiny test model built with
# tests/tiny_model.py (needs the venv), passed with --model. It says which it used.
#
# Usage: packaging/smoke_test_bundle.sh [BUNDLE_DIR]   (default dist/sscq-desktop)
# Environment: PYTHON (default .venv/bin/python) makes the JPEGs and the tiny model.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="$(cd "${1:-$ROOT/dist/sscq-desktop}" && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
CLI="$BUNDLE/sscq-desktop"
GUI="$BUNDLE/sscq-desktop-gui"
TMP="$(mktemp -d -t sscq-bundle-smoke.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT

fail() { echo "smoke_test_bundle: FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }
# The bundle must not lean on the venv: no venv on PATH, no PYTHONPATH, a fresh HOME.
clean_env=(env -u PYTHONPATH -u PYTHONHOME -u VIRTUAL_ENV -u SSCQ_DESKTOP_HOME
           -u SSCQ_DESKTOP_PYTHON
           PATH=/usr/local/bin:/usr/bin:/bin HOME="$TMP/userhome"
           QT_QPA_PLATFORM=offscreen)
mkdir -p "$TMP/userhome"

[ -x "$CLI" ] || fail "$CLI is missing (run packaging/build_bundle.sh)"
[ -x "$GUI" ] || fail "$GUI is missing"

step "version"
"${clean_env[@]}" "$CLI" --version

step "photos"
"$PYTHON" - "$TMP" <<'EOF'
import random
import sys
from pathlib import Path

from PIL import Image, ImageDraw

tmp = Path(sys.argv[1])
lib, outside = tmp / "photos", tmp / "outside"
lib.mkdir()
outside.mkdir()
rng = random.Random(7)
for i in range(12):
    im = Image.new("RGB", (320, 240), tuple(rng.randrange(256) for _ in range(3)))
    d = ImageDraw.Draw(im)
    for _ in range(6):
        x, y = rng.randrange(280), rng.randrange(200)
        d.rectangle(
            [x, y, x + rng.randrange(20, 160), y + rng.randrange(20, 120)],
            fill=tuple(rng.randrange(256) for _ in range(3)),
        )
    im.save(lib / f"photo_{i:02d}.jpg", quality=90)
    if i == 3:  # the query: a smaller, recompressed copy kept outside the library
        im.resize((200, 150)).save(outside / "query.jpg", quality=70)
print(f"{len(list(lib.glob('*.jpg')))} JPEGs in {lib}; query {outside / 'query.jpg'}")
EOF

model_args=()
if [ -f "$BUNDLE/_internal/sscq_desktop_resources/default_model.onnx" ]; then
  echo "model: the bundle's default model (_internal/sscq_desktop_resources/default_model.onnx)"
else
  (cd "$ROOT" && "$PYTHON" -c 'import sys; from pathlib import Path; sys.path.insert(0, "tests")
from tiny_model import make_tiny_artifact
make_tiny_artifact(Path(sys.argv[1]))' "$TMP/tiny_model.onnx")
  model_args=(--model "$TMP/tiny_model.onnx")
  echo "model: tiny test model $TMP/tiny_model.onnx (tests/tiny_model.py); the bundle" \
       "has no default_model.onnx yet"
fi

step "index"
start=$(date +%s.%N)
"${clean_env[@]}" "$CLI" --home "$TMP/home" "${model_args[@]}" --no-progress \
  index "$TMP/photos" --json | tee "$TMP/index.json"
echo "index took $(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)") s"

step "similar"
"${clean_env[@]}" "$CLI" --home "$TMP/home" similar "$TMP/outside/query.jpg" --top 3 --json \
  | tee "$TMP/similar.json"

"$PYTHON" - "$TMP" <<'EOF' || fail "unexpected index/similar output"
import json
import sys
from pathlib import Path

tmp = Path(sys.argv[1])
index = json.loads((tmp / "index.json").read_text())
assert index["files"] == 12 and index["images"] == 12, index
assert index["errors"] == 0 and index["active_model"], index
hits = json.loads((tmp / "similar.json").read_text())
assert len(hits) == 3, hits
for hit in hits:
    assert {"path", "distance", "score", "model_id"} <= hit.keys(), hit
    assert Path(hit["path"]).parent == tmp / "photos", hit
distances = [h["distance"] for h in hits]
assert distances == sorted(distances), distances
assert Path(hits[0]["path"]).name == "photo_03.jpg", hits[0]
print(f"ok: 12 indexed with {index['active_model']}; top hit {Path(hits[0]['path']).name}")
EOF

step "doctor"
"${clean_env[@]}" "$CLI" --home "$TMP/home" doctor --json > "$TMP/doctor.json" \
  || fail "doctor reported problems: $(cat "$TMP/doctor.json")"
"$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1]))
print("onnxruntime", d["onnxruntime"], "| providers:", d["providers available"],
      "| running on:", d.get("execution provider"), "| default model:", d["default model"])' \
  "$TMP/doctor.json"

step "gui (offscreen, 8 s)"
set +e
"${clean_env[@]}" SSCQ_DESKTOP_HOME="$TMP/guihome" timeout 8 "$GUI" > "$TMP/gui.log" 2>&1
rc=$?
set -e
[ "$rc" -eq 124 ] || { cat "$TMP/gui.log" >&2; fail "the GUI exited with $rc before 8 s"; }
if grep -qiE "could not (load|find) the qt platform plugin|Traceback" "$TMP/gui.log"; then
  cat "$TMP/gui.log" >&2
  fail "the GUI printed errors"
fi
echo "ok: the GUI was still running after 8 s"

step "trainer hand-off (-m training)"
set +e
out="$("${clean_env[@]}" SSCQ_DESKTOP_PYTHON=/nonexistent/python "$CLI" -m training --help 2>/dev/null)"
rc=$?
set -e
[ "$rc" -eq 1 ] && [[ "$out" == *'"event": "error"'* ]] \
  || fail "without a trainer Python: expected exit 1 and an error event, got $rc: $out"
echo "ok: without a trainer Python: exit 1 and ${out:0:100}..."
trainer_python="${SSCQ_DESKTOP_PYTHON:-$ROOT/.venv/bin/python}"
if "$trainer_python" -c 'import torch, training' >/dev/null 2>&1; then
  "${clean_env[@]}" SSCQ_DESKTOP_PYTHON="$trainer_python" "$CLI" -m training --help \
    | head -1 | grep -q "usage: python -m training" \
    || fail "the hand-off to $trainer_python did not run the trainer"
  echo "ok: -m training ran with $trainer_python"
else
  echo "skipped: no Python with torch and training at $trainer_python"
fi

echo "smoke_test_bundle: PASS ($BUNDLE, $(du -sh "$BUNDLE" | cut -f1))"
