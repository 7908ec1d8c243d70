#!/usr/bin/env bash
# Install the system libraries Qt 6 (PySide6) needs, including offscreen, on Debian/Ubuntu.
# Does nothing when they are already present; prints what to do elsewhere.
set -euo pipefail

packages=(libegl1 libgl1 libopengl0 libglx0 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3
          libfontconfig1 libfreetype6 libglib2.0-0 libx11-6 libx11-xcb1 libxcb1 libxcb-cursor0
          libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
          libxcb-render-util0 libxcb-image0 fonts-dejavu-core)

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: not a Debian-like system; install Qt 6's runtime libraries" \
       "(EGL, OpenGL, xkbcommon, fontconfig, dbus) with your package manager." >&2
  exit 0
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-system-deps: run as root to install: ${missing[*]}" >&2; exit 1
  fi
fi
echo "install-system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
