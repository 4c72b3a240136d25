"""End-to-end tests of the scheduler loop with the real daemon (issue 6,
items 1-4): on-time once-per-instant runs, many jobs per second, jitter,
the per-job limit (skipped) and the global limit (queued, then run)."""
import time

from sched_util import (iso, job, next_second, overlaps, runs, start, wait_until,
                        write_agents, write_config)


def test_every_second_job_runs_once_per_instant(symbi, daemons):
    write_agents(symbi.data_dir, """
agent echoer { command: "echo hello from $SYMBI_JOB_NAME at $SYMBI_SCHEDULED_AT" }
schedule { name: "tick" agent: "echoer" cron: "* * * * * *" }
""")
    start(symbi, daemons)
    first = wait_until(lambda: [r for r in runs(symbi, "tick") if r["status"] == "succeeded"],
                       what="a first run")[0]["scheduled_at"]
    time.sleep(10.2)
    got = [r for r in runs(symbi, "tick") if first <= r["scheduled_at"] < first + 10_000]
    done = [r for r in got if r["status"] == "succeeded"]
    assert 9 <= len(done) <= 11, got
    instants = [r["scheduled_at"] for r in got]
    assert len(instants) == len(set(instants)), "an instant ran twice"
    assert all(b - a == 1000 for a, b in zip(instants, instants[1:])), instants
    for r in done:
        assert r["attempt"] == 1 and r["trigger"] == "schedule"
        assert r["output"] == f"hello from tick at {iso(r['scheduled_at'])}\n"
        assert r["started_at"] - r["scheduled_at"] < 1000


def test_hundred_jobs_every_second_all_fire(symbi, daemons):
    write_config(symbi.data_dir, {"max_concurrent_jobs": 200})
    text = 'agent nop { builtin: "noop" }\n' + "".join(
        f'schedule {{ name: "j{i:03d}" agent: "nop" cron: "* * * * * *" }}\n' for i in range(100))
    write_agents(symbi.data_dir, text)
    start(symbi, daemons)
    wait_until(lambda: len({r["scheduled_at"] for r in runs(symbi, status="succeeded")}) >= 6,
        what="six instants", timeout=30)
    got = runs(symbi)
    instants = sorted({r["scheduled_at"] for r in got})
    # every job fired exactly once at every instant (the first two, due
    # while the daemon was still starting, may be late or skipped)
    for t in instants[2:5]:
        at_t = [r for r in got if r["scheduled_at"] == t]
        assert len(at_t) == 100, (t, len(at_t))
        assert {r["job_name"] for r in at_t} == {f"j{i:03d}" for i in range(100)}
        assert all(r["status"] in ("succeeded", "running", "queued") for r in at_t), \
            sorted((r["status"], r["job_name"]) for r in at_t if r["status"] != "succeeded")


def test_jitter_spreads_starts_over_the_window(symbi, daemons):
    at = next_second(2.0)
    text = 'agent nop { builtin: "noop" }\n' + "".join(
        f'schedule {{ name: "jit{i:02d}" agent: "nop" at: "{iso(at)}" jitter: "4s" }}\n'
        for i in range(50))
    write_agents(symbi.data_dir, text)
    start(symbi, daemons)
    done = wait_until(lambda: (lambda r: r if len(r) == 50 else None)(
        runs(symbi, status="succeeded")), timeout=30,
        what="50 jittered runs")
    starts = [r["started_at"] for r in done]
    assert all(r["scheduled_at"] == at for r in done)
    assert all(s >= at for s in starts), "a run started before its instant"
    assert all(r["started_at"] >= r["scheduled_at"] + r["jitter_ms"] for r in done)
    assert all(r["jitter_ms"] <= 4000 for r in done)
    assert max(starts) - min(starts) >= 2000, sorted(s - at for s in starts)
    assert job(symbi, "jit00")["status"] == "completed"


def test_per_job_limit_skips_and_never_overlaps(symbi, daemons):
    write_agents(symbi.data_dir, """
agent slow { command: "sleep 2.5" }
schedule { name: "slow" agent: "slow" cron: "* * * * * *" max_concurrent: 1 }
""")
    start(symbi, daemons)
    max_running = 0
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        n = len(runs(symbi, status="running"))
        max_running = max(max_running, n)
        time.sleep(0.05)
    got = runs(symbi, "slow")
    assert max_running == 1
    assert any(r["status"] == "skipped" for r in got), got
    assert any(r["status"] == "succeeded" for r in got), got
    executed = [(r["started_at"], r["finished_at"] or 2**62) for r in got if r["started_at"]]
    assert overlaps(executed) == 1
    instants = [r["scheduled_at"] for r in got]
    assert len(instants) == len(set(instants))


def test_global_limit_queues_then_runs_in_due_order(symbi, daemons):
    write_config(symbi.data_dir, {"max_concurrent_jobs": 2})
    at = next_second(2.0)
    text = 'agent slow { command: "sleep 1" }\n' + "".join(
        f'schedule {{ name: "g{i}" agent: "slow" at: "{iso(at)}" }}\n' for i in range(5))
    write_agents(symbi.data_dir, text)
    start(symbi, daemons)
    max_running, saw_queued = 0, False
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        st = [r["status"] for r in runs(symbi)]
        max_running = max(max_running, st.count("running"))
        saw_queued |= st.count("queued") > 0 and st.count("running") > 0
        if st.count("succeeded") == 5:
            break
        time.sleep(0.05)
    got = runs(symbi)
    assert [r["status"] for r in got] == ["succeeded"] * 5, got
    assert max_running <= 2 and saw_queued
    assert overlaps([(r["started_at"], r["finished_at"]) for r in got]) == 2
    late = sorted(r["started_at"] - at for r in got)
    assert late[1] < 500 and late[2] >= 900, late
