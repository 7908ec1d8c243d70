"""The bundle's ``sscq-desktop-gui`` executable (windowed): `sscq_desktop.app.main`."""

import sys

from sscq_bundle_entry import run

if __name__ == "__main__":
    sys.exit(run("gui"))
