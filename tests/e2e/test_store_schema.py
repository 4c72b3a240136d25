"""The store file itself (SPEC §13): WAL mode, private permissions, versioned
migrations applied once and in order, and a refusal to open a store written
by a newer symbi. SQLite-only on purpose: these tests inspect the SQLite file
(journal mode, file mode, schema_version rows) with sqlite3."""
import json
import sqlite3
import stat

JOB = {"name": "j", "agent_id": "a", "cron_expr": "0 * * * *"}


def connect(symbi):
    return sqlite3.connect(symbi.data_dir / "symbi.db")


def test_new_store(symbi):
    symbi.run("cron", "add", "--json", json.dumps(JOB), check=True)
    path = symbi.data_dir / "symbi.db"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with connect(symbi) as c:
        assert c.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        versions = [v for (v,) in c.execute("SELECT version FROM schema_migrations ORDER BY 1")]
        assert versions == [1, 2, 3, 4, 5, 6, 7, 8, 9]
        cols = {r[1] for r in c.execute("PRAGMA table_info(api_keys)")}
        assert "scopes" in cols  # migration 5
        indexes = {n for (n,) in c.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        for name in ("jobs_due", "runs_status", "audit_type_at", "audit_at"):
            assert name in indexes
        assert "jobs_agent" not in indexes  # dropped by migration 2
        assert "audit_job_at" not in indexes  # dropped by migration 3
        # migration 4: context history entries, each heartbeat iteration's output
        assert "context_entries_live" in indexes
        cols = {r[1] for r in c.execute("PRAGMA table_info(runs)")}
        assert "iteration_outputs" in cols
        # migration 6: model agents' tool calls and token usage
        assert {"tool_calls", "prompt_tokens", "completion_tokens"} <= cols
        # migration 7: sandboxed agents
        assert "sandbox" in {r[1] for r in c.execute("PRAGMA table_info(agents)")}
        # migration 8: lease epochs (several nodes)
        assert "epoch" in cols
        assert "lease_epochs" in {n for (n,) in c.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
    check_status_constraints(symbi)


JOBS_IN = "status IN  ('active','paused','completed','failed','dead_letter')"
RUNS_IN = ("status IN ('queued','pending_approval','running',  'succeeded','failed','timed_out',"
           "'denied','skipped','missed','interrupted')")


def table_sql(c, name):
    return c.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name=?",
                     (name,)).fetchone()[0]


def check_status_constraints(symbi):
    """Migration 9: the status checks are OR chains, and still refuse what they refused."""
    with connect(symbi) as c:
        assert "status IN" not in table_sql(c, "jobs") and "status IN" not in table_sql(c, "runs")
        assert "status = 'dead_letter'" in table_sql(c, "jobs")
        assert "status = 'interrupted'" in table_sql(c, "runs")
        assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (job_id,) = c.execute("SELECT id FROM jobs").fetchone()
        for bad in ("sleeping", "Active", ""):
            try:
                c.execute("UPDATE jobs SET status = ? WHERE id = ?", (bad, job_id))
                raise AssertionError(f"jobs.status {bad!r} accepted")
            except sqlite3.IntegrityError as e:
                assert "CHECK" in str(e)
            try:
                c.execute("INSERT INTO runs (id, job_id, scheduled_at, status, created_at) "
                          "VALUES ('r', ?, 0, ?, 0)", (job_id, bad))
                raise AssertionError(f"runs.status {bad!r} accepted")
            except sqlite3.IntegrityError as e:
                assert "CHECK" in str(e)
        for good in ("paused", "completed", "failed", "dead_letter", "active"):
            c.execute("UPDATE jobs SET status = ? WHERE id = ?", (good, job_id))
        for i, good in enumerate(("queued", "pending_approval", "running", "succeeded", "failed",
                                  "timed_out", "denied", "skipped", "missed", "interrupted")):
            c.execute("INSERT INTO runs (id, job_id, scheduled_at, status, created_at) "
                      "VALUES (?, ?, ?, ?, 0)", (f"r{i}", job_id, i, good))
        c.rollback()


def test_old_store_is_migrated_once(symbi):
    symbi.run("cron", "add", "--json", json.dumps(JOB), check=True)
    # make it look like a store written before migrations 2 to 8
    with connect(symbi) as c:
        c.execute("ALTER TABLE api_keys DROP COLUMN scopes")
        for table, col in (("agents", "api"), ("agents", "tools"), ("agents", "max_tool_calls"),
                           ("runs", "tool_calls"), ("runs", "prompt_tokens"),
                           ("runs", "completion_tokens"), ("agents", "sandbox")):
            c.execute(f"ALTER TABLE {table} DROP COLUMN {col}")
        c.execute("CREATE INDEX jobs_agent ON jobs(agent, name)")
        c.execute("CREATE INDEX audit_job_name_at ON audit_events(job_name, at)")
        c.execute("CREATE INDEX audit_job_at ON audit_events(job_id, at)")
        c.execute("DROP TABLE context_entries")
        c.execute("ALTER TABLE runs DROP COLUMN iteration_outputs")
        c.execute("ALTER TABLE runs DROP COLUMN epoch")
        c.execute("ALTER TABLE nodes DROP COLUMN epoch")
        c.execute("DROP TABLE lease_epochs")
        # migration 1's status checks, as a store before migration 9 has them
        v = c.execute("PRAGMA schema_version").fetchone()[0]
        c.execute("PRAGMA writable_schema=ON")
        for table, was in (("jobs", JOBS_IN), ("runs", RUNS_IN)):
            now = table_sql(c, table)
            start = now.index("CHECK (status") + len("CHECK (")
            end = now.index("')", start) + 1  # the check's own ")" stays
            c.execute("UPDATE sqlite_master SET sql = ? WHERE type='table' AND name=?",
                      (now[:start] + was + now[end:], table))
        c.execute(f"PRAGMA schema_version={v + 1}")
        c.execute("PRAGMA writable_schema=OFF")
        assert JOBS_IN in table_sql(c, "jobs") and RUNS_IN in table_sql(c, "runs")
        c.execute("DELETE FROM schema_migrations WHERE version >= 2")
    p = symbi.run("cron", "list", "--format", "json", check=True)
    assert [j["name"] for j in json.loads(p.stdout)] == ["j"]
    with connect(symbi) as c:
        assert [v for (v,) in c.execute("SELECT version FROM schema_migrations ORDER BY 1")] == [
            1, 2, 3, 4, 5, 6, 7, 8, 9]
        assert "sandbox" in {r[1] for r in c.execute("PRAGMA table_info(agents)")}
        cols = {r[1] for r in c.execute("PRAGMA table_info(runs)")}
        assert {"tool_calls", "prompt_tokens", "completion_tokens"} <= cols
        indexes = {n for (n,) in c.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "jobs_agent" not in indexes and "audit_job_name_at" not in indexes
        assert "audit_job_at" not in indexes
    check_status_constraints(symbi)
    symbi.run("cron", "list", check=True)  # nothing left to do


def test_newer_store_is_refused(symbi):
    symbi.run("cron", "add", "--json", json.dumps(JOB), check=True)
    with connect(symbi) as c:
        c.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', 0)")
    p = symbi.run("cron", "list")
    assert p.returncode == 1
    assert "schema version 99" in p.stderr and "newer" in p.stderr


def test_not_a_database(symbi):
    (symbi.data_dir / "symbi.db").write_text("hello, I am not SQLite\n" * 100)
    p = symbi.run("cron", "list")
    assert p.returncode == 1 and "symbi.db" in p.stderr
