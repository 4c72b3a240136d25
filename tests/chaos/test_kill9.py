"""kill -9 at random points of the run lifecycle (issue 20 #1, SPEC §5.6):
the daemon (only the daemon: its agents live on, as after a real crash) is
killed at random delays and at chosen points - while starting and
recovering, while claiming, after a claim before the start, as an agent
starts, while it runs, while its outcome is recorded, during a delivery to
a slow webhook - then restarted; at the end one clean run and stop. The
ledger checker (ledger.py, through the CLI) must find every instant of
every job once with one chain of attempts, nothing queued or running, no
run id started twice, no agent left, and SQLite's integrity check ok.
Iterations: 100 in `make test-chaos`; in `make test` each point once (8)."""
import os
import random
import signal
import time
from pathlib import Path

import ledger
from receiver import SlowReceiver
from report import figures
from sched_util import rows, wait_until, write_config

NOOP_JOBS = 100
POINTS = ["starting", "claiming", "claimed", "agent-start", "agent-running", "recording",
          "delivery", "random"]


def agents_file(data, started, ended, hook_url):
    text = ['agent nop { builtin: "noop" }',
            f'agent life {{ command: "echo $SYMBI_RUN_ID $SYMBI_ATTEMPT >> {started}; '
            f'sleep 0.4; echo $SYMBI_RUN_ID >> {ended}" }}',
            'schedule { name: "life" agent: "life" cron: "* * * * * *" }',
            'schedule { name: "jit" agent: "nop" cron: "*/5 * * * * *" jitter: "4s" }',
            f'schedule {{ name: "hook" agent: "nop" cron: "*/4 * * * * *" '
            f'delivery: ["webhook"] webhook_url: "{hook_url}" }}']
    text += [f'schedule {{ name: "k{i:03d}" agent: "nop" cron: "* * * * * *" }}'
             for i in range(NOOP_JOBS)]
    (data / "agents").mkdir(exist_ok=True)
    (data / "agents" / "jobs.symbi").write_text("\n".join(text) + "\n")


def lines(path):
    return path.read_text().splitlines() if path.exists() else []


def waiting_claimed(sym):
    """A run of `jit` claimed ahead (queued, owned) whose instant is > 0.3 s away."""
    now = int(time.time() * 1000)
    return rows(sym, "SELECT id FROM runs WHERE job_name = 'jit' AND status = 'queued' AND "
                     "node IS NOT NULL AND started_at IS NULL AND due_at > ?", now + 300)


def claimed_at(sym, instant):
    return rows(sym, "SELECT count(*) AS n FROM runs WHERE job_name LIKE 'k%' AND attempt = 1 "
                     "AND scheduled_at = ?", instant)[0]["n"]


def agents_left(tag):
    """Processes whose command line names this test's directory (its agents)."""
    left = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if tag.encode() in (p / "cmdline").read_bytes():
                    left.append(int(p.name))
            except OSError:
                pass
    return left


def kill_at(point, d, sym, rng, started, ended, recv):
    """Waits for `point`, then SIGKILLs the daemon (not its agents); returns
    what was seen at the kill."""
    pid = d.proc.pid
    if point == "starting":  # recovery, the agents' load, the API's start
        time.sleep(rng.uniform(0.0, 0.6))
        os.kill(pid, signal.SIGKILL)
        return {}
    d.wait_for("scheduler started", timeout=30)
    seen = {}
    if point == "random":
        time.sleep(rng.uniform(0.0, 3.0))
    elif point == "claiming":
        # fires are claimed 500 ms ahead of their instant: land in the claim
        # of the next second's 100 fires, and check it was all or nothing
        wait_until(lambda: 0.40 <= time.time() % 1 < 0.48, timeout=3, every=0.002,
                   what="the claim window")
        time.sleep(0.5 - time.time() % 1 + rng.uniform(0.0, 0.02))
        seen["instant"] = (int(time.time()) + 1) * 1000
    elif point == "claimed":
        seen["run"] = wait_until(lambda: waiting_claimed(sym), timeout=12, every=0.02,
                                 what="a fire claimed ahead")[0]["id"]
    elif point in ("agent-start", "agent-running"):
        n = len(lines(started))
        wait_until(lambda: len(lines(started)) > n, timeout=5, every=0.002, what="an agent start")
        if point == "agent-running":
            time.sleep(rng.uniform(0.05, 0.35))
    elif point == "recording":
        n = len(lines(ended))
        wait_until(lambda: len(lines(ended)) > n, timeout=5, every=0.002, what="an agent's end")
        time.sleep(rng.uniform(0.0, 0.01))
    elif point == "delivery":
        assert recv.wait_new(len(recv.run_ids), timeout=10), "no delivery started"
    os.kill(pid, signal.SIGKILL)
    return seen


def test_kill_9_at_lifecycle_points(symbi, daemons, chaos, tmp_path):
    iterations = int(os.environ.get("SYMBI_CHAOS_KILLS", chaos.pick(len(POINTS), 100)))
    data = symbi.data_dir
    started, ended = tmp_path / "started.txt", tmp_path / "ended.txt"
    recv = SlowReceiver(delay=2.0)
    rng = random.Random(int(os.environ.get("SYMBI_CHAOS_SEED", "20")))
    write_config(data, {"max_concurrent_jobs": 64, "shutdown_timeout_seconds": 5})
    agents_file(data, started, ended, recv.url)
    points = {}
    try:
        for i in range(iterations):
            point = POINTS[i] if i < len(POINTS) else rng.choice(POINTS)
            d = symbi.start("up", "--listen", "127.0.0.1:0", "--agents", data / "agents")
            daemons.append(d)
            seen = kill_at(point, d, symbi, rng, started, ended, recv)
            d.proc.wait(timeout=10)
            points[point] = points.get(point, 0) + 1
            if "instant" in seen:  # the claim is one transaction
                n = claimed_at(symbi, seen["instant"])
                assert n in (0, NOOP_JOBS), f"a claim was cut in half: {n} of {NOOP_JOBS}"
            if "run" in seen:  # still claimed, not started, when the daemon died
                r = rows(symbi, "SELECT status, started_at FROM runs WHERE id = ?", seen["run"])
                assert r and r[0]["status"] == "queued", r

        d = symbi.start("up", "--listen", "127.0.0.1:0", "--agents", data / "agents")
        daemons.append(d)
        d.wait_for("scheduler started", timeout=30)
        # the work owed (retries, fires released by recovery) is done
        wait_until(lambda: rows(symbi, "SELECT count(*) AS n FROM runs WHERE status = 'running' "
                                       "OR (status = 'queued' AND node IS NULL)")[0]["n"] == 0,
                   timeout=60, what="recovered runs to finish")
        time.sleep(2)
        d.signal(signal.SIGTERM)
        assert d.wait(timeout=60) == 0, d.output()[-3000:]
    finally:
        recv.close()

    data_dump = ledger.dump(symbi)
    executions = [ln.split()[0] for ln in lines(started)]
    rep = ledger.check(data_dump, executions=executions + [r for r in recv.run_ids if r])
    integrity, fk = ledger.sqlite_integrity(data / "symbi.db")
    left = agents_left(str(tmp_path))
    statuses = {}
    for _, runs in data_dump.values():
        for r in runs:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    figures("kill9", iterations=iterations, points=points, agent_starts=len(executions),
            deliveries=len(recv.run_ids), statuses=statuses, integrity=integrity,
            agents_left=len(left), **rep.figures())
    assert rep.ok, rep.explain()
    assert rep.instants > 0 and rep.jobs == NOOP_JOBS + 3
    assert integrity == "ok" and fk == []
    assert not left, f"agents outlived their runs: {left}"
    # a clean stop leaves no group note and an empty journal of started runs
    notes = sorted(p.name for p in (data / "running").iterdir()
                   if not p.name.startswith("started.") or p.stat().st_size > 0)
    assert not notes, f"run notes left after a clean stop: {notes[:5]}"
