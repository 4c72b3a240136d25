"""The job-management CLI on the store (SPEC §10, §12): cron list/add/remove/
pause/resume/reset/status/history and audit query, every flag, and bad input
that must change nothing in the store. Jobs and audit events are read back
through the CLI (sched_util); sqlite3 is used only where the test is about
SQLite bytes or needs a state no command writes, and says so."""
import csv
import io
import json
import os
import pty
import select
import sqlite3
import subprocess
import time

import pytest

from conftest import BIN
from sched_util import audit, job

TABLES = ("jobs", "runs", "agents", "contexts", "context_entries", "audit_events", "approvals",
          "api_keys", "nodes")

JOB = {"name": "hourly-report", "agent_id": "reporter", "cron_expr": "0 * * * *",
       "session_mode": "ephemeral_with_summary", "delivery": ["stdout"]}

FILE = """
agent reporter {
  command: "echo report"
}
schedule {
  name: "daily-report"
  agent: "reporter"
  cron: "0 9 * * *"
  timezone: "America/New_York"
}
schedule weekly_digest {
  cron: "0 8 * * MON", agent: "reporter"
}
"""


def db(symbi):
    """SQLite-only: the file itself (snapshots, states no command writes)."""
    return sqlite3.connect(symbi.data_dir / "symbi.db")


def snapshot(symbi):
    """Every row of every table: equal snapshots mean nothing changed (SQLite-
    only on purpose: every byte of every table, more than any CLI read shows)."""
    path = symbi.data_dir / "symbi.db"
    if not path.exists():
        return None
    with db(symbi) as c:
        return {t: sorted(map(repr, c.execute(f"SELECT * FROM {t}"))) for t in TABLES}


def add(symbi, **fields):
    job = dict(JOB)
    job.update(fields)
    p = symbi.run("cron", "add", "--json", json.dumps(job), "--format", "json", check=True)
    return json.loads(p.stdout)


def job_row(symbi, name):
    return job(symbi, name)


def events(symbi, type_=None):
    return [(e["type"], e["job_name"], e["actor"]) for e in audit(symbi, type=type_)]


def refused(symbi, *args, rc=1, msg=None, **kw):
    """Runs a command that must fail with rc, print msg, and change nothing."""
    before = snapshot(symbi)
    p = symbi.run(*args, **kw)
    assert p.returncode == rc, (p.stdout, p.stderr)
    if msg is not None:
        assert msg in p.stderr, p.stderr
    assert p.stderr.strip(), "an error needs a message"
    assert snapshot(symbi) == before
    return p


def test_add_json_guide_example(symbi):
    j = add(symbi)
    assert j["name"] == "hourly-report"
    assert j["agent_id"] == "reporter"
    assert j["cron_expr"] == "0 * * * *"
    assert j["status"] == "active"
    assert j["next_run"].endswith(":00:00Z")
    row = job_row(symbi, "hourly-report")
    assert row["id"] == j["id"] and row["source"] == "cli"
    assert events(symbi) == [("CronJobCreated", "hourly-report", "cli")]
    # the plain output names the job and its next run
    p = symbi.run("cron", "add", "--json", json.dumps(dict(JOB, name="other")), check=True)
    assert "Created job 'other'" in p.stdout and "next run" in p.stdout


@pytest.mark.parametrize("text,msg", [
    ("{not json", "bad JSON"),
    ("[1, 2]", "must be a JSON object"),
    (json.dumps(dict(JOB, cron_expr="61 * * * *")), "out of range"),
    (json.dumps(dict(JOB, cron_expr="* * *")), "cron"),
    (json.dumps(dict(JOB, timezone="Mars/Base")), "Mars/Base"),
    (json.dumps(dict(JOB, max_concurrent="many")), "max_concurrent"),
    (json.dumps(dict(JOB, session_mode="forever")), "session_mode"),
    (json.dumps({k: v for k, v in JOB.items() if k != "name"}), "name"),
    ('{"name": "a", "name": "b", "agent": "x", "cron": "* * * * *"}', "duplicate"),
])
def test_add_json_bad_input_changes_nothing(symbi, text, msg):
    add(symbi, name="existing")
    refused(symbi, "cron", "add", "--json", text, msg=msg)


def test_add_json_duplicate_name_refused(symbi):
    add(symbi)
    refused(symbi, "cron", "add", "--json", json.dumps(dict(JOB, cron_expr="5 * * * *")),
            msg='a job named "hourly-report" already exists')
    assert job_row(symbi, "hourly-report")["cron_expr"] == "0 * * * *"


def test_add_file_upserts_by_name(symbi):
    f = symbi.data_dir / "ops.symbi"
    f.write_text(FILE)
    p = symbi.run("cron", "add", "--file", f, check=True)
    assert "Created job 'daily-report'" in p.stdout
    assert "Created job 'weekly_digest'" in p.stdout
    assert "Registered agent 'reporter'" in p.stdout
    first = job_row(symbi, "daily-report")
    assert first["timezone"] == "America/New_York"
    assert first["source"].startswith("dsl:")
    with db(symbi) as c:  # SQLite-only: no CLI command lists agents
        assert c.execute("SELECT runner, command FROM agents").fetchall() == [
            ("command", "echo report")]
    # the same file again: nothing new, same ids
    p = symbi.run("cron", "add", "--file", f, check=True)
    assert "Unchanged job 'daily-report'" in p.stdout
    assert len(events(symbi, "CronJobCreated")) == 2
    assert events(symbi, "CronJobUpdated") == []
    # a paused job changed in the file keeps its id and stays paused
    symbi.run("cron", "pause", "daily-report", check=True)
    f.write_text(FILE.replace("0 9 * * *", "30 9 * * *"))
    p = symbi.run("cron", "add", "--file", f, check=True)
    assert "Updated job 'daily-report'" in p.stdout
    row = job_row(symbi, "daily-report")
    assert row["id"] == first["id"] and row["cron_expr"] == "30 9 * * *"
    assert row["status"] == "paused"
    assert events(symbi, "CronJobUpdated") == [("CronJobUpdated", "daily-report", "cli")]


def test_add_file_one_schedule(symbi):
    f = symbi.data_dir / "ops.symbi"
    f.write_text(FILE)
    p = symbi.run("cron", "add", "--file", f, "--schedule", "weekly_digest", "--format", "json",
                  check=True)
    jobs = json.loads(p.stdout)
    assert [j["name"] for j in jobs] == ["weekly_digest"]
    assert job_row(symbi, "daily-report") is None
    refused(symbi, "cron", "add", "--file", f, "--schedule", "nope",
            msg='no schedule named "nope" (it has: daily-report, weekly_digest)')


def test_add_file_bad_input_changes_nothing(symbi):
    add(symbi, name="existing")
    bad = symbi.data_dir / "bad.symbi"
    bad.write_text(FILE + '\nschedule {\n  name: "x"\n  agent: "reporter"\n  crn: "* * * * *"\n}\n')
    p = refused(symbi, "cron", "add", "--file", bad, msg="nothing added")
    assert "bad.symbi:18:3:" in p.stderr and "crn" in p.stderr
    refused(symbi, "cron", "add", "--file", symbi.data_dir / "missing.symbi", msg="missing.symbi")
    locked = symbi.data_dir / "locked.symbi"
    locked.write_text(FILE)
    locked.chmod(0)
    try:
        if not os.access(locked, os.R_OK):  # root reads anything
            refused(symbi, "cron", "add", "--file", locked, msg="locked.symbi")
    finally:
        locked.chmod(0o600)
    # a directory is unreadable as a file, even for root
    (symbi.data_dir / "dir.symbi").mkdir()
    refused(symbi, "cron", "add", "--file", symbi.data_dir / "dir.symbi", msg="dir.symbi")
    cron = symbi.data_dir / "cron.symbi"
    cron.write_text('schedule { name: "c" agent: "a" cron: "0 25 * * *" }\n')
    refused(symbi, "cron", "add", "--file", cron, msg="hour")


def test_add_usage_errors(symbi):
    assert symbi.run("cron", "add").returncode == 2
    p = symbi.run("cron", "add", "--json", "{}", "--file", "x.symbi")
    assert p.returncode == 2 and "exactly one" in p.stderr
    assert symbi.run("cron", "add", "--json", "{}", "--schedule", "x").returncode == 2
    assert symbi.run("cron", "add", "--bogus").returncode == 2
    assert not (symbi.data_dir / "symbi.db").exists()


def test_list_filters_and_formats(symbi):
    add(symbi, name="b-job", agent_id="alpha")
    add(symbi, name="a-job", agent_id="beta")
    add(symbi, name="c-job", agent_id="alpha")
    symbi.run("cron", "pause", "c-job", check=True)
    p = symbi.run("cron", "list", check=True)
    lines = p.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "NAME", "AGENT"]
    assert [l.split()[1] for l in lines[1:]] == ["a-job", "b-job", "c-job"]
    js = json.loads(symbi.run("cron", "list", "--format", "json", check=True).stdout)
    assert [j["name"] for j in js] == ["a-job", "b-job", "c-job"]
    for key in ("id", "name", "agent_id", "cron_expr", "at", "timezone", "status", "next_run"):
        assert key in js[0]
    only = json.loads(symbi.run("cron", "list", "--status", "paused", "--format", "json",
                                check=True).stdout)
    assert [j["name"] for j in only] == ["c-job"]
    only = json.loads(symbi.run("cron", "list", "--agent", "alpha", "--status", "active",
                                "--format", "json", check=True).stdout)
    assert [j["name"] for j in only] == ["b-job"]
    rows = list(csv.DictReader(io.StringIO(symbi.run("cron", "list", "--format", "csv",
                                                     check=True).stdout)))
    assert [r["name"] for r in rows] == ["a-job", "b-job", "c-job"]
    assert rows[2]["status"] == "paused" and rows[0]["cron_expr"] == "0 * * * *"
    p = symbi.run("cron", "list", "--local", env={"TZ": "Asia/Kolkata"}, check=True)
    assert p.stdout.count("\n") == 4 and "+05:30" in p.stdout
    assert symbi.run("cron", "list", "--status", "sleeping").returncode == 2
    assert symbi.run("cron", "list", "--format", "xml").returncode == 2
    assert symbi.run("cron", "list", "extra").returncode == 2


def test_list_empty(symbi):
    assert symbi.run("cron", "list", check=True).stdout == "No jobs.\n"
    assert json.loads(symbi.run("cron", "list", "--format", "json", check=True).stdout) == []


def test_lookup_by_id_prefix_and_name(symbi):
    j = add(symbi)
    for ref in (j["id"], j["id"][:8], "hourly-report"):
        p = symbi.run("cron", "status", ref, "--format", "json", check=True)
        assert json.loads(p.stdout)["job"]["id"] == j["id"]
    refused(symbi, "cron", "status", j["id"][:7], msg="no job")
    for cmd in ("status", "history", "pause", "resume", "reset"):
        refused(symbi, "cron", cmd, "no-such-job", msg='no job "no-such-job"')
    refused(symbi, "cron", "remove", "no-such-job", "--force", msg='no job "no-such-job"')


def test_ambiguous_prefix(symbi):
    add(symbi, name="one")
    add(symbi, name="two")
    with db(symbi) as c:  # SQLite-only: two ids sharing a prefix, chosen
        c.execute("UPDATE jobs SET id = 'abcdef01-0000-4000-8000-00000000000' || "
                  "CASE name WHEN 'one' THEN '1' ELSE '2' END")
    for cmd in ("status", "pause", "history"):
        refused(symbi, "cron", cmd, "abcdef01", msg="ambiguous")
    refused(symbi, "cron", "remove", "abcdef01-0000", "--force", msg="ambiguous")
    symbi.run("cron", "pause", "abcdef01-0000-4000-8000-000000000002", check=True)
    assert job_row(symbi, "two")["status"] == "paused"


def test_pause_resume_reset(symbi):
    add(symbi)
    p = symbi.run("cron", "pause", "hourly-report", check=True)
    assert "Paused job 'hourly-report'" in p.stdout
    assert job_row(symbi, "hourly-report")["status"] == "paused"
    p = symbi.run("cron", "pause", "hourly-report", check=True)
    assert "already paused" in p.stdout
    refused(symbi, "cron", "reset", "hourly-report", msg="paused")
    p = symbi.run("cron", "resume", "hourly-report", check=True)
    assert "Resumed job 'hourly-report'" in p.stdout and "next run" in p.stdout
    assert job_row(symbi, "hourly-report")["status"] == "active"
    # reset of an active job is a state error that writes nothing (SPEC §5.5)
    refused(symbi, "cron", "reset", "hourly-report", msg="active")
    # dead letter: resume refused, reset reactivates with 0 failures
    with db(symbi) as c:  # SQLite-only: a dead_letter job without running one
        c.execute("UPDATE jobs SET status = 'dead_letter', failure_count = 3, next_run = NULL")
    refused(symbi, "cron", "resume", "hourly-report", msg="reset")
    p = symbi.run("cron", "reset", "hourly-report", check=True)
    assert "Reset job 'hourly-report'" in p.stdout
    row = job_row(symbi, "hourly-report")
    assert row["status"] == "active" and row["failure_count"] == 0
    assert row["next_run"] > int(time.time() * 1000)
    assert [e[0] for e in events(symbi)] == [
        "CronJobCreated", "CronJobPaused", "CronJobResumed", "CronJobReset"]
    for cmd in ("pause", "resume", "reset"):
        assert symbi.run("cron", cmd).returncode == 2
        assert symbi.run("cron", cmd, "a", "b").returncode == 2


def test_remove(symbi):
    j = add(symbi, name="by-id")
    add(symbi, name="by-name")
    add(symbi, name="by-prefix")
    symbi.run("cron", "remove", j["id"], "--force", check=True)
    p = symbi.run("cron", "remove", "--name", "by-name", "--force", check=True)
    assert "Removed job 'by-name'" in p.stdout
    prefix = job_row(symbi, "by-prefix")["id"][:10]
    symbi.run("cron", "remove", prefix, "--force", check=True)
    assert snapshot(symbi)["jobs"] == []
    assert len(events(symbi, "CronJobDeleted")) == 3
    # --name is the exact name only, not an id
    k = add(symbi, name="kept")
    refused(symbi, "cron", "remove", "--name", k["id"], "--force", msg="no job named")
    assert symbi.run("cron", "remove").returncode == 2
    assert symbi.run("cron", "remove", "kept", "--name", "kept").returncode == 2


def test_remove_refuses_without_terminal_or_force(symbi):
    add(symbi)
    p = refused(symbi, "cron", "remove", "hourly-report", msg="--force")
    assert "not a terminal" in p.stderr


def run_on_pty(symbi, args, answer):
    """Runs symbi with a terminal as stdin and answers its question."""
    master, slave = pty.openpty()
    p = subprocess.Popen([BIN, *args], stdin=slave, stdout=subprocess.PIPE, stderr=slave,
                         env=symbi.env, cwd=symbi.data_dir)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 30
    while b"[y/N]" not in seen and time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            seen += os.read(master, 1024)
    assert b"[y/N]" in seen, seen
    os.write(master, answer.encode() + b"\n")
    out, _ = p.communicate(timeout=30)
    try:
        while select.select([master], [], [], 0.1)[0]:
            seen += os.read(master, 1024)
    except OSError:
        pass
    os.close(master)
    return p.returncode, out.decode(), seen.decode(errors="replace")


def test_remove_asks_on_a_terminal(symbi):
    add(symbi)
    before = snapshot(symbi)
    rc, out, tty = run_on_pty(symbi, ["cron", "remove", "hourly-report"], "n")
    assert rc == 1 and "Remove job 'hourly-report'" in tty and "not removed" in tty
    assert snapshot(symbi) == before
    rc, out, tty = run_on_pty(symbi, ["cron", "remove", "hourly-report"], "y")
    assert rc == 0 and "Removed job" in out
    assert job_row(symbi, "hourly-report") is None


def insert_runs(symbi, job_id, n, status="succeeded"):
    """SQLite-only: n backdated run records written with SQL."""
    with db(symbi) as c:
        for i in range(n):
            t = 1774000000000 + i * 60000
            c.execute("INSERT INTO runs (id, job_id, job_name, agent, trigger, scheduled_at, "
                      "due_at, started_at, finished_at, status, attempt, error_message, "
                      "execution_time_ms, created_at) VALUES (?, ?, 'hourly-report', 'reporter',"
                      " 'schedule', ?, ?, ?, ?, ?, 1, ?, 1500, ?)",
                      (f"00000000-0000-4000-8000-{i:012d}", job_id, t, t, t + 10, t + 1510,
                       status if i % 2 == 0 else "failed",
                       None if i % 2 == 0 else 'exit 1, "boom"', t))


def test_status(symbi):
    j = add(symbi)
    insert_runs(symbi, j["id"], 8)
    p = symbi.run("cron", "status", "hourly-report", check=True)
    for text in ("Job:             hourly-report", "Agent:           reporter",
                 "Schedule:        0 * * * *", "Status:          active", "Next run:",
                 "Recent runs:"):
        assert text in p.stdout
    runs_part = p.stdout.split("Recent runs:\n")[1].strip().splitlines()
    assert len(runs_part) == 1 + 5  # header and the default 5
    p = symbi.run("cron", "status", "hourly-report", "--history", "2", check=True)
    assert len(p.stdout.split("Recent runs:\n")[1].strip().splitlines()) == 3
    p = symbi.run("cron", "status", "hourly-report", "--history", "0", check=True)
    assert "Recent runs" not in p.stdout
    p = symbi.run("cron", "status", "hourly-report", "--history", "3", "--format", "json",
                  check=True)
    out = json.loads(p.stdout)
    assert out["job"]["name"] == "hourly-report" and len(out["runs"]) == 3
    assert out["runs"][0]["scheduled_at"] > out["runs"][1]["scheduled_at"]
    assert "--local" and symbi.run("cron", "status", "hourly-report", "--local").returncode == 0
    assert symbi.run("cron", "status", "hourly-report", "--history", "x").returncode == 2
    assert symbi.run("cron", "status").returncode == 2


def test_status_watch_redraws(symbi):
    add(symbi)
    p = subprocess.Popen([BIN, "cron", "status", "hourly-report", "--watch", "--interval",
                          "100ms"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=symbi.env, cwd=symbi.data_dir, text=True)
    try:
        out = ""
        deadline = time.monotonic() + 20
        while "Status:          active" not in out and time.monotonic() < deadline:
            out += os.read(p.stdout.fileno(), 65536).decode()
        symbi.run("cron", "pause", "hourly-report", check=True)
        while "Status:          paused" not in out and time.monotonic() < deadline:
            out += os.read(p.stdout.fileno(), 65536).decode()
        assert "Status:          paused" in out
        assert out.count("Job:             hourly-report") >= 2
    finally:
        p.terminate()
        p.wait(timeout=10)
    assert symbi.run("cron", "status", "x", "--watch", "--interval", "1ms").returncode == 2


def test_history(symbi):
    j = add(symbi)
    insert_runs(symbi, j["id"], 30)
    p = symbi.run("cron", "history", "hourly-report", check=True)
    assert len(p.stdout.strip().splitlines()) == 1 + 20  # default limit
    runs = json.loads(symbi.run("cron", "history", j["id"][:8], "--limit", "5", "--format",
                                "json", check=True).stdout)
    assert len(runs) == 5
    assert [r["scheduled_at"] for r in runs] == sorted((r["scheduled_at"] for r in runs),
                                                        reverse=True)
    for key in ("id", "status", "execution_time_ms", "error_message", "attempt", "trigger"):
        assert key in runs[0]
    failed = json.loads(symbi.run("cron", "history", "hourly-report", "--status", "failed",
                                  "--limit", "100", "--format", "json", check=True).stdout)
    assert len(failed) == 15 and {r["status"] for r in failed} == {"failed"}
    rows = list(csv.DictReader(io.StringIO(symbi.run(
        "cron", "history", "hourly-report", "--status", "failed", "--limit", "2",
        "--format", "csv", check=True).stdout)))
    assert len(rows) == 2 and rows[0]["error_message"] == 'exit 1, "boom"'
    assert symbi.run("cron", "history", "hourly-report", "--local", check=True).returncode == 0
    assert symbi.run("cron", "history", "hourly-report", "--status", "meh").returncode == 2
    assert symbi.run("cron", "history", "hourly-report", "--limit", "0").returncode == 2
    assert symbi.run("cron", "history", "hourly-report", "--format", "yaml").returncode == 2


def test_audit_query(symbi):
    add(symbi, name="a")
    add(symbi, name="b")
    symbi.run("cron", "pause", "a", check=True)
    symbi.run("cron", "remove", "b", "--force", check=True)
    p = symbi.run("audit", "query", check=True)
    lines = p.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["TIME", "TYPE", "JOB"]
    assert [l.split()[1] for l in lines[1:]] == [
        "CronJobDeleted", "CronJobPaused", "CronJobCreated", "CronJobCreated"]
    ev = json.loads(symbi.run("audit", "query", "--type", "CronJobCreated", "--format", "json",
                              check=True).stdout)
    assert [e["type"] for e in ev] == ["CronJobCreated"] * 2
    # a deleted job's events stay findable by its name
    ev = json.loads(symbi.run("audit", "query", "--job", "b", "--format", "json",
                              check=True).stdout)
    assert [e["type"] for e in ev] == ["CronJobDeleted", "CronJobCreated"]
    a_id = job_row(symbi, "a")["id"]
    ev = json.loads(symbi.run("audit", "query", "--job", a_id[:8], "--format", "json",
                              check=True).stdout)
    assert [e["type"] for e in ev] == ["CronJobPaused", "CronJobCreated"]
    assert len(json.loads(symbi.run("audit", "query", "--limit", "1", "--format", "json",
                                    check=True).stdout)) == 1
    assert json.loads(symbi.run("audit", "query", "--since", "1h", "--format", "json",
                                check=True).stdout)
    assert json.loads(symbi.run("audit", "query", "--until", "2000-01-01", "--format", "json",
                                check=True).stdout) == []
    assert json.loads(symbi.run("audit", "query", "--since", "2000-01-01T00:00:00Z", "--until",
                                "now", "--format", "json", check=True).stdout)
    rows = list(csv.DictReader(io.StringIO(symbi.run("audit", "query", "--format", "csv",
                                                     check=True).stdout)))
    assert len(rows) == 4 and json.loads(rows[0]["details"])["name"] == "b"
    local = symbi.run("audit", "query", "--local", env={"TZ": "Asia/Kolkata"}, check=True)
    assert "+05:30" in local.stdout
    assert symbi.run("audit", "query", "--type", "Nope").returncode == 2
    assert symbi.run("audit", "query", "--since", "yesterday-ish").returncode == 2
    assert symbi.run("audit", "query", "--since", "now", "--until", "1h").returncode == 2
    assert symbi.run("audit", "query", "--limit", "-3").returncode == 2
    assert symbi.run("audit", "query", "--help").stdout.startswith("usage: symbi audit query")
    assert symbi.run("audit", "bogus").returncode == 2


@pytest.mark.parametrize("cmd", ["list", "add", "remove", "pause", "resume", "reset", "status",
                                 "history"])
def test_cron_commands_have_help(symbi, cmd):
    p = symbi.run("cron", cmd, "--help")
    assert p.returncode == 0 and p.stdout.startswith(f"usage: symbi cron {cmd}")


def test_store_selection(symbi, tmp_path):
    env_home = {"SYMBI_HOME": str(tmp_path / "home")}
    symbi.run("cron", "add", "--json", json.dumps(JOB), env=env_home, check=True)
    assert (tmp_path / "home" / "symbi.db").exists()
    symbi.run("--data-dir", tmp_path / "dd", "cron", "add", "--json", json.dumps(JOB), check=True)
    assert (tmp_path / "dd" / "symbi.db").exists()
    symbi.run("--store", tmp_path / "x.db", "cron", "add", "--json", json.dumps(JOB), check=True)
    assert (tmp_path / "x.db").exists()
    symbi.run("cron", "add", "--json", json.dumps(JOB),
              env={"SYMBI_STORE": f"sqlite:{tmp_path / 'y.db'}"}, check=True)
    assert (tmp_path / "y.db").exists()
    p = symbi.run("--store", tmp_path / "x.db", "cron", "list", "--format", "json", check=True)
    assert len(json.loads(p.stdout)) == 1
    p = symbi.run("--store", tmp_path / "nodir" / "z.db", "cron", "list")
    assert p.returncode == 1 and "nodir" in p.stderr
    p = symbi.run("--store", "postgres://db/symbi", "cron", "list")
    assert p.returncode == 1 and "PostgreSQL" in p.stderr
