"""The PostgreSQL store under a running daemon (issue 16): the server stopped
and started again while a job fires every second, and two daemons sharing one
database. Run by tests/run.d/postgres.sh (SYMBI_E2E_STORE, SYMBI_TEST_PG_DIR);
skipped in the SQLite suite."""
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from sched_util import runs, start, store_check, wait_until, write_agents

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from pg_server import PgServer  # noqa: E402

ADMIN = os.environ.get("SYMBI_E2E_STORE", "")
PG_DIR = os.environ.get("SYMBI_TEST_PG_DIR", "")
pytestmark = pytest.mark.skipif(not ADMIN.startswith(("postgres://", "postgresql://")),
                                reason="needs SYMBI_E2E_STORE (tests/run.d/postgres.sh)")

TICK = 'agent nop { builtin: "noop" }\nschedule { name: "tick" agent: "nop" cron: "* * * * * *" }\n'


def ledger_ok(got):
    """Every instant exactly once (attempt 1), none missing in between."""
    instants = [r["scheduled_at"] for r in got if r["attempt"] == 1]
    assert len(instants) == len(set(instants)), "an instant recorded twice"
    assert instants == list(range(instants[0], instants[-1] + 1000, 1000)), "an instant lost"
    return instants


@pytest.mark.skipif(not PG_DIR, reason="needs the server's directory (SYMBI_TEST_PG_DIR)")
def test_daemon_reconnects_after_the_server_restarts(symbi, daemons):
    """The server goes away for ~3 s under a job firing every second: the
    daemon's writes fail and are retried, it reconnects with back-off, and
    the ledger has each instant once with the missed ones under catch_up."""
    write_agents(symbi.data_dir, TICK)
    d = start(symbi, daemons)
    wait_until(lambda: len(runs(symbi, "tick", status="succeeded")) >= 2, timeout=20,
               what="two runs before the outage")
    pg = PgServer.attach(PG_DIR, ADMIN)
    stopped = pg.pg_ctl("stop", ["-m", "fast"])
    assert stopped.returncode == 0, stopped.stdout
    down_at = time.time()
    try:
        d.wait_for("the store cannot write", timeout=10)
        time.sleep(max(0.0, 3.0 - (time.time() - down_at)))
    finally:
        started = pg.pg_ctl("start")
        assert started.returncode == 0, started.stdout + pg.log()[-2000:]
    up_ms = int(time.time() * 1000)
    wait_until(lambda: any(r["scheduled_at"] > up_ms + 1000 and r["status"] == "succeeded"
                           for r in runs(symbi, "tick")), timeout=30,
               what="a run after the server came back")
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=30) == 0
    out = d.output()
    assert "the store writes again" in out, out[-3000:]
    got = runs(symbi, "tick")
    assert not [r for r in got if r["status"] in ("queued", "running")], \
        "\n".join(repr((r["scheduled_at"], r["attempt"], r["status"], r["trigger"],
                        r["error_message"], r["due_at"], r["node"])) for r in got)
    ledger_ok(got)
    # the outage's instants are in the ledger: catch_up `once` runs the
    # latest and records the others missed
    during = [r for r in got if down_at * 1000 + 1000 < r["scheduled_at"] < up_ms - 1000]
    assert during and all(r["status"] in ("missed", "succeeded") for r in during), during
    store_check(symbi)


def test_two_daemons_share_one_database(symbi, daemons, tmp_path):
    """Two `symbi up` nodes on one database: every instant of 20 jobs firing
    every second is recorded once and executed by exactly one node."""
    text = 'agent nop { builtin: "noop" }\n' + "".join(
        f'schedule {{ name: "j{i:02d}" agent: "nop" cron: "* * * * * *" }}\n' for i in range(20))
    write_agents(symbi.data_dir, text)
    a = start(symbi, daemons)
    # a second node: its own data directory (the node's name and lock), the
    # same database
    other = tmp_path / "node-b"
    other.mkdir()
    b = symbi.start("up", "--listen", "127.0.0.1:0", "--agents", symbi.data_dir / "agents",
                    env={"SYMBI_HOME": str(other)}, cwd=other)
    daemons.append(b)
    b.wait_for("scheduler started", timeout=20)
    wait_until(lambda: len(runs(symbi, status="succeeded")) >= 20 * 4, timeout=30,
               what="four instants of 20 jobs")
    for d in (a, b):
        d.signal(signal.SIGTERM)
    for d in (a, b):
        assert d.wait(timeout=30) == 0
    got = runs(symbi)
    assert not [r for r in got if r["status"] in ("queued", "running")]
    nodes = {r["node"] for r in got if r["status"] == "succeeded"}
    assert 1 <= len(nodes) <= 2, nodes
    for i in range(20):
        ledger_ok([r for r in got if r["job_name"] == f"j{i:02d}"])
    store_check(symbi)


def test_api_job_list_follows_run_outcomes(symbi, daemons):
    """The API caches its job list by the store's change mark: on PostgreSQL
    recording a run's outcome (run_count, last_run) moves the mark too, so
    the list answers the counters the store holds, not those of the first
    request."""
    from apiclient import Api, start_api
    write_agents(symbi.data_dir, TICK)
    _, port = start_api(symbi, daemons, "--agents", symbi.data_dir / "agents")
    api = Api(port)

    def listed():
        st, body = api.get("/api/v1/schedule")
        assert st == 200, body
        return next(j for j in body if j["name"] == "tick")["run_count"]
    first = listed()
    wait_until(lambda: len(runs(symbi, "tick", status="succeeded")) >= first + 2, timeout=20,
               what="two more runs")
    stored = len(runs(symbi, "tick", status="succeeded"))
    wait_until(lambda: listed() >= stored, timeout=5, what="the list to show the new runs")


def test_every_sqlite_column_has_its_postgresql_twin(symbi, tmp_path):
    """Each SQLite migration needs a PostgreSQL one (docs/store.md): a new
    store of each backend has the same tables and columns. A SQLite
    migration without its twin fails here, not on an operator's cluster."""
    import sqlite3
    from conftest import pg_sql
    sq_home = tmp_path / "sqlite-home"
    sq_home.mkdir()
    env = {"SYMBI_HOME": str(sq_home), "SYMBI_STORE": str(sq_home / "symbi.db")}
    assert symbi.run("store", "check", env=env, cwd=sq_home).returncode == 0
    assert symbi.run("store", "check").returncode == 0  # the test's PostgreSQL schema
    c = sqlite3.connect(sq_home / "symbi.db")
    tables = [r[0] for r in c.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    sq = {(t, r[1]) for t in tables for r in c.execute(f"PRAGMA table_info({t})")}
    c.close()
    out = pg_sql(symbi.store_url, "SELECT table_name || '.' || column_name FROM "
                 "information_schema.columns WHERE table_schema = current_schema()")
    pg = {tuple(line.split(".", 1)) for line in out.split()}
    # each backend's own bookkeeping: SQLite draws lease epochs from a table,
    # PostgreSQL from a sequence (docs/cluster.md)
    own = {"lease_epochs"}
    missing_in_pg = sorted(x for x in sq - pg if x[0] not in own)
    missing_in_sq = sorted(x for x in pg - sq if x[0] not in own)
    assert not missing_in_pg, f"SQLite columns without a PostgreSQL twin: {missing_in_pg}"
    assert not missing_in_sq, f"PostgreSQL columns without a SQLite twin: {missing_in_sq}"
