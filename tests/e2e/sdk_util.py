"""Helpers for the SDK end-to-end tests: a real `symbi up` with an API key
and two agents (one that echoes, one that fails), the SDK source trees, the
npm test tools, and a run put in `pending_approval` the way the policy gate
leaves one."""
import fcntl
import json
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

from apiclient import start_api
from conftest import pg_sql, pg_store_of

ROOT = Path(__file__).resolve().parents[2]
SDK_PY = ROOT / "sdk" / "python"
SDK_JS = ROOT / "sdk" / "js"
TOOLS = ROOT / "tests" / "tools"  # npm test tools (package.json + lockfile)
KEY = "symbi_" + "5d" * 32  # an API key as `symbi api-key create` makes them

AGENTS = """agent echoer {
  command: "echo echoed $SYMBI_JOB_NAME"
}
agent failer {
  builtin: "fail"
}
"""

if str(SDK_PY) not in sys.path:
    sys.path.insert(0, str(SDK_PY))


def ensure_tools():
    """tests/tools/node_modules, installed from its lockfile by `npm ci` when
    absent or stale (the first run only: later runs and the ASan pass reuse
    it; node_modules is git-ignored). Returns its node_modules path."""
    want = json.loads((TOOLS / "package.json").read_text())["dependencies"]
    mods = TOOLS / "node_modules"

    def current():
        for name, version in want.items():
            meta = mods / name / "package.json"
            if not meta.exists() or json.loads(meta.read_text())["version"] != version:
                return False
        return True

    if current():
        return mods
    # the e2e tests run in several processes (pytest-xdist): one installs,
    # the others wait for it and find the tools current
    with open(TOOLS / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not current():
            p = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                               cwd=TOOLS, capture_output=True, text=True, timeout=300)
            assert p.returncode == 0, f"npm ci in {TOOLS} failed:\n{p.stdout}\n{p.stderr}"
            assert current(), f"npm ci in {TOOLS} did not install {want}"
    return mods


def start_sdk_daemon(symbi, daemons, tmp_path, env=None):
    """`symbi up` on a free loopback port with SYMBI_API_KEY=KEY; returns
    (daemon, base_url)."""
    agents = tmp_path / "agents"
    agents.mkdir(exist_ok=True)
    (agents / "sdk.symbi").write_text(AGENTS)
    e = {"SYMBI_API_KEY": KEY}
    e.update(env or {})
    d, port = start_api(symbi, daemons, "--agents", agents, env=e)
    return d, f"http://127.0.0.1:{port}"


def insert_pending_run(data_dir: Path, job_id: str, job_name: str) -> str:
    """Writes a run in `pending_approval` into the daemon's store, as the
    policy gate does for a job whose policy requires approval; returns its id.
    SQLite-only: a fabricated state written with SQL (the SDK tests need a
    pending run without an approval policy's keys and approvers set up);
    everything read back goes through the SDKs and the API."""
    rid = str(uuid.uuid4())
    now = int(time.time() * 1000)
    pg = pg_store_of(data_dir)
    if pg is not None:
        name = job_name.replace("'", "''")
        pg_sql(pg, "INSERT INTO runs (id, job_id, job_name, agent, trigger, scheduled_at, due_at,"
               f" status, created_at) VALUES ('{rid}', '{job_id}', '{name}', 'echoer', 'manual',"
               f" {now}, {now}, 'pending_approval', {now})")
        return rid
    db = sqlite3.connect(str(data_dir / "symbi.db"), timeout=10)
    try:
        db.execute("INSERT INTO runs (id, job_id, job_name, agent, trigger, scheduled_at, due_at,"
                   " status, created_at) VALUES (?, ?, ?, 'echoer', 'manual', ?, ?,"
                   " 'pending_approval', ?)", (rid, job_id, job_name, now, now, now))
        db.commit()
    finally:
        db.close()
    return rid


def wait_run_final(client, run_id, timeout=20.0):
    """Polls client.runs.get until the run is no longer queued or running."""
    deadline = time.monotonic() + timeout
    run = None
    while time.monotonic() < deadline:
        run = client.runs.get(run_id)
        if run.status not in ("queued", "running", "pending_approval"):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} still {run.status if run else '?'} after {timeout}s")
