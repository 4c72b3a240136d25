"""End-to-end tests of `symbi up` loading its agents directory (upsert by
name, bad files skipped, removed schedules paused, SIGHUP reload),
`symbi run`, `symbi cron run` (queued, --wait, --local, exit 3) and
`symbi logs`."""
import signal
import subprocess
import time

from conftest import BIN

from sched_util import job, jobs, run_by_id, runs, start, wait_until, write_agents
from slowness import SLOW

AGENTS = """
agent echoer { command: "echo got: $(cat)" }
agent nop { builtin: "noop" }
schedule { name: "hourly" agent: "echoer" cron: "0 * * * *" input: "default input" }
schedule { name: "daily" agent: "nop" cron: "0 9 * * *" }
"""


def test_up_loads_upserts_pauses_and_reloads(symbi, daemons):
    agents = write_agents(symbi.data_dir, AGENTS)
    (agents / "broken.symbi").write_text('schedule { name: "bad" agent: "nop" crn: "* * * * *" }\n')
    d = start(symbi, daemons)
    out = d.wait_for("agents directory")
    assert "broken.symbi" in out and "skipped" in out
    assert job(symbi, "hourly")["status"] == "active"
    assert job(symbi, "bad") is None
    first_id = job(symbi, "hourly")["id"]
    d.signal(signal.SIGTERM)
    assert d.wait() == 0

    # restart: no duplicates; a schedule gone from the files is paused
    write_agents(symbi.data_dir, AGENTS.replace(
        'schedule { name: "daily" agent: "nop" cron: "0 9 * * *" }\n', ""))
    d = start(symbi, daemons)
    out = d.wait_for("agents directory")
    assert "schedule daily is no longer in the agents files" in out
    assert len([j for j in jobs(symbi) if j["name"] == "hourly"]) == 1
    assert job(symbi, "hourly")["id"] == first_id
    assert job(symbi, "daily")["status"] == "paused"

    # SIGHUP: a new schedule appears, a changed one is updated
    write_agents(symbi.data_dir, AGENTS.replace('cron: "0 * * * *"', 'cron: "30 * * * *"') +
                 'schedule { name: "new" agent: "nop" cron: "0 0 * * *" }\n')
    d.signal(signal.SIGHUP)
    d.wait_for("SIGHUP: configuration and agents reloaded")
    assert job(symbi, "new")["status"] == "active"
    assert job(symbi, "hourly")["cron_expr"] == "30 * * * *"
    assert job(symbi, "hourly")["id"] == first_id


def test_cron_run_queued_wait_local_and_no_scheduler(symbi, daemons):
    write_agents(symbi.data_dir, AGENTS)
    d = start(symbi, daemons)
    p = symbi.run("cron", "run", "hourly", "--input", "hi there", "--wait")
    assert p.returncode == 0, p.stderr
    run_id, output = p.stdout.split("\n", 1)
    assert output == "got: hi there\n"
    r = run_by_id(symbi, run_id)
    assert r["trigger"] == "manual" and r["status"] == "succeeded"
    # without --wait: prints the id, the daemon runs it (input: the job's)
    p = symbi.run("cron", "run", "hourly")
    assert p.returncode == 0, p.stderr
    rid = p.stdout.strip()
    r = wait_until(lambda: [x for x in [run_by_id(symbi, rid)]
                            if x is not None and x["status"] == "succeeded"],
                   what="the manual run")[0]
    assert r["output"] == "got: default input\n"
    d.signal(signal.SIGTERM)
    assert d.wait() == 0

    p = symbi.run("cron", "run", "hourly")
    assert p.returncode == 3
    assert "no live scheduler" in p.stderr
    p = symbi.run("cron", "run", "hourly", "--local", "--input", "here")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "got: here\n"
    assert len([r for r in runs(symbi, "hourly") if r["trigger"] == "manual"]) == 3
    p = symbi.run("cron", "run", "nosuchjob")
    assert p.returncode == 1 and "nosuchjob" in p.stderr


def test_symbi_run_agent(symbi, tmp_path):
    f = tmp_path / "a.symbi"
    f.write_text('agent greeter { command: "echo hello $(cat) in $SYMBI_ENVIRONMENT" }\n'
                 'agent broken { command: "echo oops >&2; exit 4" }\n')
    p = symbi.run("run", "greeter", "--file", f, "--input", "world",
                  env={"SYMBI_ENVIRONMENT": "staging"})
    assert p.returncode == 0, p.stderr
    assert p.stdout == "hello world in staging\n"
    p = symbi.run("run", "broken", "--file", f)
    assert p.returncode == 1
    assert "oops" in p.stderr and "exit code 4" in p.stderr
    p = symbi.run("run", "ghost", "--file", f)
    assert p.returncode == 1 and "ghost" in p.stderr
    p = symbi.run("run")
    assert p.returncode == 2


def test_logs_filters(symbi, daemons):
    write_agents(symbi.data_dir, AGENTS)
    d = start(symbi, daemons)
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    p = symbi.run("logs")
    assert p.returncode == 0
    assert "scheduler started" in p.stdout
    lines = p.stdout.splitlines()
    assert all(len(x.split(" ", 3)) >= 3 for x in lines)
    p = symbi.run("logs", "--filter", "api")
    assert p.stdout and all(x.split(" ")[2] == "api" for x in p.stdout.splitlines())
    p = symbi.run("logs", "--level", "warn")
    assert all(x.split(" ")[1] in ("WARN", "ERROR") for x in p.stdout.splitlines())
    p = symbi.run("logs", "--since", "2999-01-01T00:00:00Z")
    assert p.returncode == 0 and p.stdout == ""
    p = symbi.run("logs", "--since", "1h")
    assert "scheduler started" in p.stdout
    assert symbi.run("logs", "--level", "loud").returncode == 2


def test_logs_follow(symbi, daemons):
    write_agents(symbi.data_dir, AGENTS)
    f = subprocess.Popen([BIN, "logs", "--follow", "--filter", "scheduler"], env=symbi.env,
                         stdout=subprocess.PIPE, text=True)
    try:
        d = start(symbi, daemons)
        d.signal(signal.SIGTERM)
        assert d.wait() == 0
        seen = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            line = f.stdout.readline()
            seen.append(line)
            if "stopped" in line:
                break
        assert any("scheduler started" in x for x in seen), seen
        assert all(x.split(" ")[2] == "scheduler" for x in seen if x), seen
    finally:
        f.kill()
        f.wait()


def test_local_run_is_not_recovered_by_a_scheduler_starting_meanwhile(symbi, daemons):
    """A `cron run --local` holds a lease for its run: a `symbi up` started
    while it runs neither interrupts nor re-runs it, and does not count it
    as a live scheduler for other CLI calls."""
    marker = symbi.data_dir / "marker"
    write_agents(symbi.data_dir, f"""
agent slow {{ command: "sleep {3 * SLOW:g}; echo done-$SYMBI_TRIGGER-$SYMBI_ATTEMPT >> {marker}" }}
schedule {{ name: "rare" agent: "slow" cron: "0 0 1 1 *" }}
""")
    symbi.run("cron", "add", "--file", symbi.data_dir / "agents" / "jobs.symbi", check=True)
    local = subprocess.Popen([BIN, "cron", "run", "rare", "--local"], env=symbi.env,
                             cwd=symbi.data_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    wait_until(lambda: [r for r in runs(symbi, "rare") if r["status"] == "running"],
               what="the local run to start")
    p = symbi.run("cron", "run", "rare")
    assert p.returncode == 3, "a local run is not a live scheduler"
    d = start(symbi, daemons)
    d.wait_for("scheduler started")
    out, err = local.communicate(timeout=30 * SLOW)
    assert local.returncode == 0, err
    time.sleep(1.5)  # a wrongly queued retry would be due at once
    assert marker.read_text() == "done-manual-1\n"
    got = runs(symbi, "rare")
    assert [r["status"] for r in got] == ["succeeded"], got
    assert "recovered runs" not in d.output()
