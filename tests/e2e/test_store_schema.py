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
        assert versions == [1, 2, 3, 4, 5, 6, 7]
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


def test_old_store_is_migrated_once(symbi):
    symbi.run("cron", "add", "--json", json.dumps(JOB), check=True)
    # make it look like a store written before migrations 2 to 7
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
        c.execute("DELETE FROM schema_migrations WHERE version >= 2")
    p = symbi.run("cron", "list", "--format", "json", check=True)
    assert [j["name"] for j in json.loads(p.stdout)] == ["j"]
    with connect(symbi) as c:
        assert [v for (v,) in c.execute("SELECT version FROM schema_migrations ORDER BY 1")] == [
            1, 2, 3, 4, 5, 6, 7]
        assert "sandbox" in {r[1] for r in c.execute("PRAGMA table_info(agents)")}
        cols = {r[1] for r in c.execute("PRAGMA table_info(runs)")}
        assert {"tool_calls", "prompt_tokens", "completion_tokens"} <= cols
        indexes = {n for (n,) in c.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "jobs_agent" not in indexes and "audit_job_name_at" not in indexes
        assert "audit_job_at" not in indexes
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
