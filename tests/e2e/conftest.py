"""Shared fixtures for end-to-end tests: they drive the real `symbi` binary
(SYMBI_BIN, default build/symbi) as a separate process in a temporary data
directory, never a mock.

SYMBI_E2E_STORE=postgresql://USER@HOST:PORT/DB runs them on PostgreSQL: each
test's `symbi` gets a new schema of that database (a schema is made in
milliseconds, a database in about a second), named to the processes it starts
by SYMBI_STORE (the URL's search_path option), and dropped at the test's end
(tests/run.d/postgres.sh)."""
import os
import re
import uuid
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("SYMBI_BIN", str(ROOT / "build" / "symbi"))
from slowness import SLOW  # noqa: E402  (SYMBI_TEST_SLOW)


# data directory -> the PostgreSQL URL of its store (SYMBI_E2E_STORE)
STORE_URLS = {}


def pg_url_with_schema(admin: str, schema: str) -> str:
    """The URL whose sessions use `schema` (libpq's options parameter)."""
    if not re.match(r"^postgres(ql)?://", admin):
        raise ValueError(f"not a PostgreSQL URL: {admin}")
    sep = "&" if "?" in admin else "?"
    return f"{admin}{sep}options=-csearch_path%3D{schema}"


def pg_sql(url: str, sql: str) -> str:
    """Runs sql on the PostgreSQL database of url with psql; its output."""
    return subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                          check=True, text=True, capture_output=True, timeout=60).stdout


def pg_store_of(data_dir) -> str:
    """The PostgreSQL URL of the store of data_dir's test, or None (SQLite)."""
    return STORE_URLS.get(str(data_dir))


class Symbi:
    """Runs `symbi` commands against one data directory."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("SYMBI_") and k not in ("SYMBI_BIN", "SYMBI_BUILD"):
                del self.env[k]
        self.env["SYMBI_HOME"] = str(data_dir)
        self.env["NO_COLOR"] = "1"
        self.env.pop("SYMBI_CONFIG", None)
        self.pg_db = None
        admin = os.environ.get("SYMBI_E2E_STORE", "")
        if admin.startswith(("postgres://", "postgresql://")):
            self.pg_admin = admin
            self.pg_db = "symbi_e2e_" + uuid.uuid4().hex[:12]
            pg_sql(admin, f"CREATE SCHEMA {self.pg_db}")
            self.env["SYMBI_STORE"] = pg_url_with_schema(admin, self.pg_db)
            STORE_URLS[str(data_dir)] = self.env["SYMBI_STORE"]

    @property
    def store_url(self):
        """The store's URL: the SQLite file in the data directory, or the
        PostgreSQL database of this test."""
        return self.env.get("SYMBI_STORE") or str(self.data_dir / "symbi.db")

    def drop_store(self):
        if self.pg_db is not None:
            pg_sql(self.pg_admin, f"DROP SCHEMA IF EXISTS {self.pg_db} CASCADE")
            STORE_URLS.pop(str(self.data_dir), None)
            self.pg_db = None

    def run(self, *args, input=None, timeout=60, env=None, check=False, cwd=None):
        e = dict(self.env)
        if env:
            e.update(env)
        p = subprocess.run([BIN, *[str(a) for a in args]], input=input, capture_output=True,
                           text=True, timeout=timeout * SLOW, env=e, cwd=cwd or self.data_dir)
        if check and p.returncode != 0:
            raise AssertionError(f"symbi {' '.join(map(str, args))} exited {p.returncode}:\n"
                                 f"{p.stdout}\n{p.stderr}")
        return p

    def start(self, *args, env=None, cwd=None):
        """Starts a long-running `symbi` process (e.g. `up`) and returns a Daemon."""
        e = dict(self.env)
        if env:
            e.update(env)
        log = open(self.data_dir / f"daemon-{time.monotonic_ns()}.log", "w+")
        p = subprocess.Popen([BIN, *[str(a) for a in args]], stdout=log, stderr=subprocess.STDOUT,
                             env=e, cwd=cwd or self.data_dir, start_new_session=True)
        return Daemon(p, log)


class Daemon:
    def __init__(self, proc, log):
        self.proc = proc
        self.logf = log

    def output(self) -> str:
        self.logf.flush()
        with open(self.logf.name) as f:
            return f.read()

    def wait_for(self, text: str, timeout: float = 10.0) -> str:
        """Waits until `text` appears in the daemon's output (readiness, not sleep)."""
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            out = self.output()
            if text in out:
                return out
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}:\n{out}")
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {text!r}:\n{self.output()}")

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait(self, timeout=30):
        return self.proc.wait(timeout=timeout * SLOW)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40 * SLOW)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.logf.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def symbi(tmp_path):
    s = Symbi(tmp_path)
    yield s
    s.drop_store()


@pytest.fixture
def daemons():
    """Collects Daemons started by a test and stops them at its end."""
    started = []
    yield started
    for d in started:
        d.stop()
