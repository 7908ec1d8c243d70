#!/usr/bin/env bash
# Add SSCQ Desktop to the desktop's application menu for the current user (or remove it):
# copies the .desktop file, the AppStream metainfo and the hicolor icons into
# ${XDG_DATA_HOME:-~/.local/share}/{applications,metainfo,icons/hicolor}, then refreshes the
# desktop and icon caches when their tools are installed. Needs no root.
#
# Usage: install-desktop-entry.sh [--exec PATH] [--uninstall] [--dry-run]
#   --exec PATH   the program the menu entry starts (Exec= and TryExec=); default:
#                 in the desktop bundle, the bundle's sscq-desktop-gui; else the
#                 sscq-desktop-gui found on PATH (as an absolute path, since a venv's
#                 bin/ is usually not on the desktop session's PATH); else the bare name
#   --uninstall   remove what an install added
#   --dry-run     print what would be done
# Works from a source checkout (packaging/linux/ -> resources/), from an installed wheel
# (finds the files through the sscq_desktop_resources package) and from the bundle
# (build_bundle.sh copies this script into dist/sscq-desktop/).
set -euo pipefail

APP_ID="io.github.sscq_desktop.SSCQDesktop"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
exec_path=""
uninstall=0
dry=0

while [ $# -gt 0 ]; do
  case "$1" in
    --exec) exec_path="${2:?--exec needs a path}"; shift 2 ;;
    --exec=*) exec_path="${1#--exec=}"; shift ;;
    --uninstall) uninstall=1; shift ;;
    --dry-run) dry=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "install-desktop-entry: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

run() {
  if [ "$dry" -eq 1 ]; then echo "+ $*"; else "$@"; fi
}

# Where the files come from, and the default program to start.
bundle_gui=""
if [ -d "$HERE/_internal/sscq_desktop_resources" ]; then          # the bundle
  SRC="$HERE/_internal/sscq_desktop_resources"
  bundle_gui="$HERE/sscq-desktop-gui"
elif [ -f "$HERE/../../resources/$APP_ID.desktop" ]; then         # a source checkout
  SRC="$(cd "$HERE/../../resources" && pwd)"
else                                                               # an installed wheel
  SRC="$(python3 -c 'import sscq_desktop_resources as r, os; print(os.path.dirname(r.__file__))' 2>/dev/null || true)"
  if [ -z "$SRC" ] || [ ! -f "$SRC/$APP_ID.desktop" ]; then
    echo "install-desktop-entry: cannot find $APP_ID.desktop (run this from a checkout," \
         "the bundle, or with the Python that has sscq-desktop installed)" >&2
    exit 1
  fi
fi

ICON_SIZES=(16x16 32x32 48x48 64x64 128x128 256x256 scalable)
desktop_dst="$DATA_HOME/applications/$APP_ID.desktop"
metainfo_dst="$DATA_HOME/metainfo/$APP_ID.metainfo.xml"
icon_dst() {  # icon_dst SIZE -> installed path
  local ext=png
  [ "$1" = scalable ] && ext=svg
  echo "$DATA_HOME/icons/hicolor/$1/apps/$APP_ID.$ext"
}

refresh_caches() {
  if command -v update-desktop-database >/dev/null 2>&1; then
    run update-desktop-database -q "$DATA_HOME/applications" || true
  fi
  if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -d "$DATA_HOME/icons/hicolor" ]; then
    run gtk-update-icon-cache -q -t -f "$DATA_HOME/icons/hicolor" || true
  fi
}

if [ "$uninstall" -eq 1 ]; then
  run rm -f "$desktop_dst" "$metainfo_dst"
  for size in "${ICON_SIZES[@]}"; do run rm -f "$(icon_dst "$size")"; done
  refresh_caches
  echo "install-desktop-entry: removed $APP_ID from $DATA_HOME"
  exit 0
fi

if [ -z "$exec_path" ]; then
  if [ -n "$bundle_gui" ]; then
    exec_path="$bundle_gui"
  elif found="$(command -v sscq-desktop-gui 2>/dev/null)"; then
    exec_path="$found"
  else
    exec_path="sscq-desktop-gui"
    echo "install-desktop-entry: warning: sscq-desktop-gui is not on PATH; the menu entry" \
         "will work once it is (or rerun with --exec /path/to/sscq-desktop-gui)" >&2
  fi
fi
# Exec= quoting (Desktop Entry spec): refuse the characters that need escaping, quote
# paths with spaces.
case "$exec_path" in
  *[\"\`\$\\%]*|*$'\n'*)
    echo "install-desktop-entry: --exec path has a character (\" \` \$ \\ % newline) that" \
         "a .desktop Exec= line cannot hold simply: $exec_path" >&2
    exit 2 ;;
esac
exec_field="$exec_path"
case "$exec_path" in *" "*) exec_field="\"$exec_path\"" ;; esac

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
EXEC_FIELD="$exec_field" TRY_EXEC="$exec_path" awk '
  /^Exec=/    { sub(/^Exec=sscq-desktop-gui/, "Exec=" ENVIRON["EXEC_FIELD"]) }
  /^TryExec=/ { $0 = "TryExec=" ENVIRON["TRY_EXEC"] }
  { print }
' "$SRC/$APP_ID.desktop" > "$tmp"

run install -D -m 644 "$tmp" "$desktop_dst"
run install -D -m 644 "$SRC/$APP_ID.metainfo.xml" "$metainfo_dst"
for size in "${ICON_SIZES[@]}"; do
  ext=png
  [ "$size" = scalable ] && ext=svg
  run install -D -m 644 "$SRC/icons/hicolor/$size/apps/$APP_ID.$ext" "$(icon_dst "$size")"
done
if command -v desktop-file-validate >/dev/null 2>&1 && [ "$dry" -eq 0 ]; then
  desktop-file-validate "$desktop_dst"
fi
refresh_caches
echo "install-desktop-entry: installed $APP_ID into $DATA_HOME (Exec=$exec_field)"
