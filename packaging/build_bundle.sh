#!/usr/bin/env bash
# Build the one-folder desktop bundle dist/sscq-desktop/ (PyInstaller, packaging/sscq-desktop.spec)
# and check that it holds what it must: both executables, onnxruntime's libraries, the Qt
# platform plugins (offscreen, xcb) and image formats, the resources, and no torch.
#
# Usage: packaging/build_bundle.sh [--cpu-only] [--clean]
#   --cpu-only  leave out onnxruntime's CUDA/TensorRT providers (about 285 MB smaller)
#   --clean     empty PyInstaller's cache and build/pyinstaller first
# Environment: PYTHON (default .venv/bin/python): the Python whose packages are bundled;
#   it needs the app's dependencies and PyInstaller 6 (pip install -e ".[bundle]").
# Output: dist/sscq-desktop/{sscq-desktop,sscq-desktop-gui,_internal/,install-desktop-entry.sh}
# Then: packaging/smoke_test_bundle.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
DIST="$ROOT/dist"
WORK="$ROOT/build/pyinstaller"
BUNDLE="$DIST/sscq-desktop"
clean=()

for arg in "$@"; do
  case "$arg" in
    --cpu-only) export SSCQ_BUNDLE_CPU_ONLY=1 ;;
    --clean) clean=(--clean); rm -rf "$WORK" ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "build_bundle: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

if ! "$PYTHON" -c 'import PyInstaller, sys; sys.exit(int(PyInstaller.__version__.split(".")[0]) < 6)' 2>/dev/null; then
  echo "build_bundle: PyInstaller 6 is missing in $PYTHON;" \
       "install it with: $PYTHON -m pip install -e \"$ROOT[bundle]\"" >&2
  exit 1
fi
"$PYTHON" -c 'import numpy, PIL, onnx, onnxruntime, PySide6.QtWidgets, watchdog, platformdirs, tqdm, tomli_w, psutil, send2trash' || {
  echo "build_bundle: $PYTHON lacks the app's dependencies (pip install -e \"$ROOT\")" >&2
  exit 1
}

echo "build_bundle: PyInstaller $("$PYTHON" -m PyInstaller --version) with $PYTHON" \
     "(cpu-only: ${SSCQ_BUNDLE_CPU_ONLY:-0})"
start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm "${clean[@]}" --log-level WARN \
  --distpath "$DIST" --workpath "$WORK" "$ROOT/packaging/sscq-desktop.spec"
elapsed=$(( $(date +%s) - start ))

# Desktop integration travels with the bundle: run it from there to add a menu entry.
install -m 755 "$ROOT/packaging/linux/install-desktop-entry.sh" "$BUNDLE/install-desktop-entry.sh"

# What the bundle must and must not hold.
internal="$BUNDLE/_internal"
problems=0
need() {
  if ! compgen -G "$1" >/dev/null; then
    echo "build_bundle: MISSING ${1#"$BUNDLE"/}" >&2
    problems=$((problems + 1))
  fi
}
need "$BUNDLE/sscq-desktop"
need "$BUNDLE/sscq-desktop-gui"
# The Python binding holds onnxruntime itself (libonnxruntime.so is the C API's copy and
# is not used); the providers_* libraries are the execution providers.
need "$internal/onnxruntime/capi/onnxruntime_pybind11_state*"
need "$internal/onnxruntime/capi/libonnxruntime_providers_shared.so"
if [ "${SSCQ_BUNDLE_CPU_ONLY:-0}" != 1 ]; then
  need "$internal/onnxruntime/capi/libonnxruntime_providers_cuda.so"
fi
need "$internal/PySide6/Qt/plugins/platforms/libqoffscreen.so"
need "$internal/PySide6/Qt/plugins/platforms/libqxcb.so"
need "$internal/PySide6/Qt/plugins/imageformats/libqjpeg.so"
need "$internal/PySide6/Qt/plugins/imageformats/libqsvg.so"
need "$internal/sscq_desktop_resources/io.github.sscq_desktop.SSCQDesktop.desktop"
need "$internal/sscq_desktop_resources/io.github.sscq_desktop.SSCQDesktop.metainfo.xml"
need "$internal/sscq_desktop_resources/icons/hicolor/scalable/apps/*.svg"
need "$internal/sscq_desktop_resources/icons/hicolor/256x256/apps/*.png"
if [ -f "$ROOT/resources/default_model.onnx" ]; then
  need "$internal/sscq_desktop_resources/default_model.onnx"
else
  echo "build_bundle: note: resources/default_model.onnx does not exist yet; the bundle" \
       "has no default model (pass --model FILE, or rebuild once it exists)" >&2
fi
for banned in torch training kornia; do
  if [ -e "$internal/$banned" ]; then
    echo "build_bundle: $banned must not be in the bundle" >&2
    problems=$((problems + 1))
  fi
done
if [ "$problems" -ne 0 ]; then
  echo "build_bundle: FAILED: $problems problem(s) above" >&2
  exit 1
fi

size=$(du -sh "$BUNDLE" | cut -f1)
ort=$(du -sh "$internal/onnxruntime" | cut -f1)
qt=$(du -sh "$internal/PySide6" | cut -f1)
echo "build_bundle: built $BUNDLE in ${elapsed}s: $size (onnxruntime $ort, PySide6/Qt $qt)"
