"""Fixtures of the chaos suite (tests/chaos, issue 20): the end-to-end
suite's own (`symbi`, `daemons`, tests/e2e/conftest.py) and its helpers
(sched_util.py, apiclient.py) on the path, and `chaos`: how long a campaign
runs (SYMBI_CHAOS=full for `make test-chaos`, short inside `make test`)."""
import importlib.util
import os
import sys
from pathlib import Path

import pytest

E2E = Path(__file__).resolve().parents[1] / "e2e"
sys.path.insert(0, str(E2E))
sys.path.insert(0, str(Path(__file__).resolve().parent))

_spec = importlib.util.spec_from_file_location("e2e_conftest", E2E / "conftest.py")
e2e_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e_conftest)

symbi = e2e_conftest.symbi
Symbi, BIN = e2e_conftest.Symbi, e2e_conftest.BIN  # what the e2e helpers import
daemons = e2e_conftest.daemons


class Level:
    """full: the campaign of `make test-chaos`; short: its slice in `make test`."""

    def __init__(self):
        self.full = os.environ.get("SYMBI_CHAOS", "short") == "full"
        self.asan = os.environ.get("SYMBI_BUILD", "").rstrip("/").endswith("asan")

    def pick(self, short, full):
        return full if self.full else short


@pytest.fixture
def chaos():
    return Level()
