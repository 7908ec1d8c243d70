"""The bundle's ``sscq-desktop`` executable (console): `sscq_desktop.cli.main`."""

import sys

from sscq_bundle_entry import run

if __name__ == "__main__":
    sys.exit(run("cli"))
