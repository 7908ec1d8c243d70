"""Start-up code shared by the bundle's two executables (PyInstaller one-folder build).

Besides starting the CLI or the GUI, each executable stands in for ``python -m
training``. The app starts its trainer as ``[sys.executable, "-m", "training", ...]``
(`sscq_desktop.library.retrain.retrain_request.trainer_command`); in the bundle
``sys.executable`` is the bundle's own executable, which holds neither torch nor the
trainer (both are left out to keep the bundle small). Such a call is handed to a Python
that has them:

1. ``$SSCQ_DESKTOP_PYTHON``, when set: the path of a python executable;
2. otherwise the first of ``python3`` and ``python`` on PATH that imports torch and
   ``training`` (``pip install torch==2.13.0 "sscq-desktop[train]"`` gives both).

That Python runs with the environment as it was before the bundle's bootloader changed
it (``LD_LIBRARY_PATH`` and any variable pointing into the bundle), so it does not load
the bundle's copies of Qt or the C++ runtime. On POSIX it replaces this process (same
pid, same pipes), so the app's cancel button still stops the trainer. When no suitable
Python is found it prints one trainer-protocol ``error`` event naming the fix and exits
with 1, so the app shows that reason instead of a bare exit code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from sscq_desktop.model.trainer_events import ErrorEvent, to_json_line

TRAINER_PYTHON_ENV = "SSCQ_DESKTOP_PYTHON"
TRAINER_MODULE = "training"
CANDIDATES = ("python3", "python")
PROBE = "import sys, torch, training; print(sys.version.split()[0], torch.__version__)"
PROBE_TIMEOUT_S = 300.0
HOW_TO = (
    "retraining from the desktop bundle needs a Python 3.11+ with PyTorch and the "
    'SSCQ Desktop trainer: `pip install torch==2.13.0 "sscq-desktop[train]"` in a '
    f"virtual environment, then set {TRAINER_PYTHON_ENV}=/path/to/that/venv/bin/python "
    "(or put a python3 with them first on PATH)"
)


def run(kind: str) -> int:
    """Start the CLI (``kind == "cli"``) or the GUI; or hand a trainer run on."""
    import multiprocessing

    multiprocessing.freeze_support()
    argv = sys.argv[1:]
    if argv[:1] == ["-m"]:
        return run_module_elsewhere(argv[1:])
    if kind == "cli":
        from sscq_desktop.cli import main as cli_main

        return cli_main()
    from sscq_desktop.app import main as gui_main

    return gui_main()


def run_module_elsewhere(args: list[str]) -> int:
    """Run ``python -m MODULE ARGS`` with an outside Python (only the trainer).

    Returns only on failure or on Windows (there it waits for the child); on POSIX a
    successful hand-over replaces this process.
    """
    if not args or args[0] != TRAINER_MODULE:
        module = args[0] if args else "(none)"
        _say(f"sscq-desktop bundle: cannot run module {module}; only the trainer")
        return 2
    env = outside_environment()
    python, problem = find_trainer_python(env)
    if python is None:
        _error_event(f"{problem}; {HOW_TO}")
        return 1
    _say(f"sscq-desktop bundle: running the trainer with {python}")
    argv = [python, "-m", *args]
    if os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(python, argv, env)
    return subprocess.call(argv, env=env)


def find_trainer_python(env: dict[str, str]) -> tuple[str | None, str]:
    """The Python to train with, or None and why none fits."""
    chosen = os.environ.get(TRAINER_PYTHON_ENV, "").strip()
    if chosen:
        path = shutil.which(chosen, path=env.get("PATH"))
        if path is None:
            return None, f"{TRAINER_PYTHON_ENV}={chosen} is not an executable"
        problem = _probe(path, env)
        if problem:
            return None, f"{TRAINER_PYTHON_ENV}={chosen} cannot train ({problem})"
        return path, ""
    tried = []
    for name in CANDIDATES:
        path = shutil.which(name, path=env.get("PATH"))
        if path is None or _is_bundle_file(path):
            continue
        problem = _probe(path, env)
        if not problem:
            return path, ""
        tried.append(f"{path}: {problem}")
    if not tried:
        return None, f"no {TRAINER_PYTHON_ENV} and no python3 on PATH"
    return (
        None,
        f"no {TRAINER_PYTHON_ENV}, and no Python on PATH can train ({'; '.join(tried)})",
    )


def outside_environment() -> dict[str, str]:
    """This process's environment as it was before the bundle's bootloader ran."""
    env = dict(os.environ)
    if not getattr(sys, "frozen", False):
        return env
    for key in ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "LIBPATH"):
        original = env.pop(f"{key}_ORIG", None)
        if original is not None:
            env[key] = original
        else:
            env.pop(key, None)
    bundle = getattr(sys, "_MEIPASS", None)
    for key in list(env):
        if key.startswith(("_PYI_", "_MEI")):
            del env[key]
        elif bundle and bundle in env[key]:
            kept = [p for p in env[key].split(os.pathsep) if bundle not in p]
            if kept:
                env[key] = os.pathsep.join(kept)
            else:
                del env[key]
    return env


def _probe(python: str, env: dict[str, str]) -> str:
    """Empty when `python` imports torch and the trainer; else a short reason."""
    try:
        done = subprocess.run(
            [python, "-c", PROBE],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit code {done.returncode}"
    return ""


def _is_bundle_file(path: str) -> bool:
    if not getattr(sys, "frozen", False):
        return False
    bundle = os.path.dirname(os.path.abspath(sys.executable))
    return os.path.abspath(path).startswith(bundle + os.sep)


def _say(text: str) -> None:
    if sys.stderr is not None:
        print(text, file=sys.stderr, flush=True)


def _error_event(message: str) -> None:
    """One trainer-protocol error line on stdout (the app shows its message).

    Nothing goes to stderr: the app appends the stderr log's tail to the message, which
    would only repeat it.
    """
    if sys.stdout is not None:
        print(to_json_line(ErrorEvent(message=message)), flush=True)
    else:
        _say(f"sscq-desktop bundle: {message}")
