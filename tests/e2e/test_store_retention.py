"""Retention (SPEC §13.1): `symbi store prune [--dry-run]`, `symbi store check`
and the daemon's pruner keep exactly the newest keep_runs_per_job terminal
runs of each job, delete runs past keep_runs, and never a queued, running or
pending one."""
import json
import sqlite3
import time
import uuid

from conftest import pg_sql, pg_store_of
from sched_util import runs, start, wait_until, write_agents

AGENTS = """
agent nop { builtin: "noop" }
schedule { name: "a" agent: "nop" cron: "0 0 1 1 *" }
schedule { name: "b" agent: "nop" cron: "0 0 1 1 *" }
schedule { name: "old" agent: "nop" cron: "0 0 1 1 *" }
"""
DAY = 86400000


def fill(symbi, name, n, base, status="succeeded", **extra):
    """Writes n old run records with SQL (months of history no CLI or API
    call can backdate), in the SQLite file or the PostgreSQL database of the
    test (SYMBI_E2E_STORE); the checks read back through the CLI."""
    pg = pg_store_of(symbi.data_dir)
    if pg is not None:
        now = int(time.time() * 1000)
        due = extra.get("due")
        fin = extra.get("fin", "t")
        node = extra.get("node")
        pg_sql(pg, "INSERT INTO runs (id, job_id, job_name, scheduled_at, due_at, started_at, "
               "finished_at, status, created_at, node) SELECT gen_random_uuid()::text, j.id, "
               f"j.name, t, {due if due is not None else 't'}, t, "
               f"{'NULL' if fin is None else fin}, '{status}', {now}, "
               f"{'NULL' if node is None else repr(node)} FROM jobs j, "
               f"generate_series({base}::bigint, {base + (n - 1) * 60000}::bigint, 60000) t "
               f"WHERE j.name = '{name}'")
        return
    db = sqlite3.connect(symbi.data_dir / "symbi.db", timeout=10)
    jid = db.execute("SELECT id FROM jobs WHERE name = ?", (name,)).fetchone()[0]
    now = int(time.time() * 1000)
    for i in range(n):
        t = base + i * 60000
        db.execute("INSERT INTO runs (id, job_id, job_name, scheduled_at, due_at, started_at, "
                   "finished_at, status, created_at, node) VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (str(uuid.uuid4()), jid, name, t, extra.get("due", t), t, extra.get("fin", t),
                    status, now, extra.get("node")))
    db.commit()
    db.close()


def count(symbi, name, *statuses):
    """How many runs of the job (in one of `statuses`, when given), by the CLI."""
    return len([r for r in runs(symbi, name) if not statuses or r["status"] in statuses])


def test_store_prune_cli(symbi):
    agents = write_agents(symbi.data_dir, AGENTS)
    symbi.run("cron", "add", "--file", agents / "jobs.symbi", check=True)
    (symbi.data_dir / "symbi.toml").write_text("[store]\nkeep_runs_per_job = 100\n")
    now = int(time.time() * 1000)
    base = now - DAY
    fill(symbi, "a", 1000, base)
    fill(symbi, "a", 1, base - 10 * DAY, "running", fin=None, node="n1")
    fill(symbi, "a", 2, base - 20 * DAY, "queued", fin=None, due=now + 365 * DAY)
    fill(symbi, "a", 1, base - 30 * DAY, "pending_approval", fin=None)
    fill(symbi, "old", 5, now - 100 * DAY)  # past keep_runs (90d by default)
    p = symbi.run("store", "prune", "--dry-run", check=True)
    assert p.stdout == "would delete 905 runs, 0 audit events and 0 archived context entries\n"
    assert count(symbi, "a") == 1004
    p = symbi.run("store", "prune", check=True)
    assert p.stdout == "deleted 905 runs, 0 audit events and 0 archived context entries\n"
    kept = runs(symbi, "a", status="succeeded")
    assert [r["scheduled_at"] for r in kept] == [base + i * 60000 for i in range(900, 1000)]
    assert count(symbi, "a", "running", "queued", "pending_approval") == 4
    assert count(symbi, "old") == 0
    assert symbi.run("store", "prune", check=True).stdout == "deleted 0 runs, 0 audit events and 0 archived context entries\n"
    p = symbi.run("store", "check", check=True)
    assert p.stdout == "store: ok\n"


def test_pruner_in_the_daemon(symbi, daemons):
    agents = write_agents(symbi.data_dir, AGENTS)
    symbi.run("cron", "add", "--file", agents / "jobs.symbi", check=True)
    (symbi.data_dir / "symbi.toml").write_text("[store]\nkeep_runs_per_job = 100\n")
    now = int(time.time() * 1000)
    for name in ("a", "b"):
        fill(symbi, name, 1000, now - DAY)
        fill(symbi, name, 3, now - 2 * DAY, "queued", fin=None, due=now + 365 * DAY, node="elsewhere")
    d = start(symbi, daemons)
    wait_until(lambda: count(symbi, "a", "succeeded") == 100
               and count(symbi, "b", "succeeded") == 100, timeout=30,
               what="the pruner")
    for name in ("a", "b"):
        got = min(r["scheduled_at"] for r in runs(symbi, name, status="succeeded"))
        assert got == now - DAY + 900 * 60000
        assert count(symbi, name, "queued") == 3
    d.wait_for("pruned runs=1800")


def test_archived_context_entries_follow_keep_runs(symbi):
    """Archived session-context entries older than keep_runs go; live ones
    (the context itself) and recently archived ones stay."""
    agents = write_agents(symbi.data_dir, AGENTS)
    symbi.run("cron", "add", "--file", agents / "jobs.symbi", check=True)
    (symbi.data_dir / "symbi.toml").write_text('[store]\nkeep_runs = "30d"\n')
    now = int(time.time() * 1000)
    # SQLite-only: backdated context entries, written with SQL
    db = sqlite3.connect(symbi.data_dir / "symbi.db", timeout=10)
    jid = db.execute("SELECT id FROM jobs WHERE name = 'a'").fetchone()[0]
    def entry(at, archived_at):
        db.execute("INSERT INTO context_entries (job_id, at, input, output, bytes, archived_at) "
                   "VALUES (?,?,?,?,?,?)", (jid, at, "in", "out", 5, archived_at))
    for i in range(7):
        entry(now - 60 * DAY + i, now - 40 * DAY)   # archived 40 days ago: past keep_runs
    for i in range(3):
        entry(now - 60 * DAY + i, now - 10 * DAY)   # archived 10 days ago: kept
    for i in range(2):
        entry(now - 60 * DAY + i, None)              # live: never pruned, however old
    db.commit()
    db.close()
    p = symbi.run("store", "prune", "--dry-run", check=True)
    assert p.stdout == "would delete 0 runs, 0 audit events and 7 archived context entries\n"
    p = symbi.run("store", "prune", check=True)
    assert p.stdout == "deleted 0 runs, 0 audit events and 7 archived context entries\n"
    ctx = json.loads(symbi.run("cron", "context", "a", "--format", "json", check=True).stdout)
    assert ctx["archived_entries"] == 3
    # SQLite-only: the live rows of a job that is not shared_persistent show in
    # no CLI read (`cron context` describes the file its next run gets)
    db = sqlite3.connect(f"file:{symbi.data_dir / 'symbi.db'}?mode=ro", uri=True)
    live = db.execute("SELECT count(*) FROM context_entries WHERE archived_at IS NULL").fetchone()
    db.close()
    assert live == (2,)
