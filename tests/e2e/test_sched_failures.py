"""End-to-end tests of failures with the real daemon (issue 6, items 5-8):
retries and dead letter, kill -9 and recovery under each catch_up mode,
graceful shutdown, huge output and an agent that ignores SIGTERM."""
import os
import signal
import time

from sched_util import (audit, job, next_second, pid_alive, runs, start, store_check,
                        wait_until, write_agents, write_config)


def test_dead_letter_after_three_failures_and_reset(symbi, daemons):
    write_config(symbi.data_dir, {"retry_backoff_seconds": 1})
    write_agents(symbi.data_dir, """
agent bad { builtin: "fail" }
schedule { name: "flaky" agent: "bad" cron: "* * * * * *" max_retries: 3 }
""")
    start(symbi, daemons)
    wait_until(lambda: job(symbi, "flaky")["status"] == "dead_letter", timeout=20,
               what="dead letter")
    j = job(symbi, "flaky")
    assert j["failure_count"] == 3
    ev = audit(symbi, type="CronJobDeadLettered")
    assert len(ev) == 1 and ev[0]["job_name"] == "flaky"
    got = runs(symbi, "flaky")
    assert any(r["trigger"] == "retry" and r["attempt"] >= 2 for r in got), got
    executed = [r for r in got if r["status"] == "failed"]
    assert len(executed) == 3
    # it stops firing
    n = len(got)
    time.sleep(2.2)
    assert len([r for r in runs(symbi, "flaky") if r["status"] != "queued"]) == n


def test_reset_brings_a_dead_letter_job_back(symbi, daemons):
    write_agents(symbi.data_dir, """
agent bad { builtin: "fail" }
schedule { name: "flaky" agent: "bad" cron: "* * * * * *" max_retries: 1 }
""")
    start(symbi, daemons)
    wait_until(lambda: job(symbi, "flaky")["status"] == "dead_letter", timeout=20,
               what="dead letter")
    # reset brings it back (and it fails again, from a count of 0)
    p = symbi.run("cron", "reset", "flaky")
    assert p.returncode == 0, p.stderr
    assert job(symbi, "flaky")["failure_count"] == 0
    wait_until(lambda: len([r for r in runs(symbi, "flaky") if r["status"] == "failed"]) > 1,
               timeout=10, what="a run after reset")


def test_success_between_failures_resets_the_count(symbi, daemons):
    # fails twice, succeeds once, over and over: never 3 in a row
    counter = symbi.data_dir / "n"
    counter.write_text("0")
    write_agents(symbi.data_dir, f"""
agent alt {{ command: "n=$(cat {counter}); echo $((n+1)) > {counter}; [ $((n % 3)) -eq 2 ]" }}
schedule {{ name: "alt" agent: "alt" cron: "* * * * * *" max_retries: 3 }}
""")
    write_config(symbi.data_dir, {"retry_backoff_seconds": 60})
    start(symbi, daemons)
    wait_until(lambda: len([r for r in runs(symbi, "alt")
                            if r["status"] in ("failed", "succeeded")]) >= 7,
               timeout=20, what="seven runs")
    j = job(symbi, "alt")
    assert j["status"] == "active"
    assert j["failure_count"] < 3
    assert any(r["status"] == "succeeded" for r in runs(symbi, "alt"))


def test_kill_9_recovery_and_catch_up_modes(symbi, daemons, tmp_path):
    pids = tmp_path / "pids"
    pids.mkdir()
    at = next_second(2.0)
    iso_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at / 1000))
    text = f"""
agent long {{ command: "echo $$ > {pids}/$SYMBI_JOB_NAME.$SYMBI_ATTEMPT; if [ $SYMBI_ATTEMPT = 1 ]; then sleep 60; fi; echo done" }}
agent nop {{ builtin: "noop" }}
schedule {{ name: "once" agent: "nop" cron: "* * * * * *" catch_up: "once" }}
schedule {{ name: "skip" agent: "nop" cron: "* * * * * *" catch_up: "skip" }}
schedule {{ name: "all" agent: "nop" cron: "* * * * * *" catch_up: "all" }}
""" + "".join(f'schedule {{ name: "long{i:02d}" agent: "long" at: "{iso_at}" }}\n'
              for i in range(20))
    write_config(symbi.data_dir, {"max_concurrent_jobs": 40})
    write_agents(symbi.data_dir, text)
    d = start(symbi, daemons)
    wait_until(lambda: len([r for r in runs(symbi, status="running")
                            if r["job_name"].startswith("long")]) == 20,
               timeout=15, what="20 running jobs")
    wait_until(lambda: len(list(pids.iterdir())) == 20, timeout=10, what="20 agents")
    time.sleep(0.3)  # the daemon notes each group just after spawning it
    os.killpg(d.proc.pid, signal.SIGKILL)
    d.proc.wait()
    killed_at = int(time.time() * 1000)
    try:
        time.sleep(6)
        restart_at = int(time.time() * 1000)
        d2 = start(symbi, daemons)
        # the agents the dead daemon left behind are killed before the retries
        firsts = [int(f.read_text()) for f in pids.iterdir() if f.name.endswith(".1")]
        assert len(firsts) == 20
        wait_until(lambda: not any(pid_alive(p) for p in firsts), timeout=5,
                   what="the orphaned agents to be killed")
        assert "killed 20 agent process group(s)" in d2.output()
        wait_until(lambda: len([r for r in runs(symbi, status="succeeded")
                                if r["job_name"].startswith("long") and r["attempt"] == 2])
                   == 20, timeout=20, what="20 retried runs")
        time.sleep(1.5)
        d2.signal(signal.SIGTERM)
        assert d2.wait(timeout=30) == 0
    finally:
        for f in pids.iterdir():
            if f.name.endswith(".1"):
                try:
                    os.killpg(int(f.read_text()), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
    long_runs = sorted((r for r in runs(symbi) if r["job_name"].startswith("long")),
                       key=lambda r: (r["job_name"], r["attempt"]))
    assert [r["status"] for r in long_runs] == ["interrupted", "succeeded"] * 20
    assert all(r["trigger"] == "retry" for r in long_runs if r["attempt"] == 2)
    assert all("lease expired" in r["error_message"] for r in long_runs if r["attempt"] == 1)

    for name in ("once", "skip", "all"):
        got = [r for r in runs(symbi, name) if r["attempt"] == 1]
        instants = [r["scheduled_at"] for r in got]
        # every instant from the first to the last is recorded, exactly once
        assert len(instants) == len(set(instants)), (name, instants)
        assert instants == list(range(instants[0], instants[-1] + 1000, 1000)), (name, instants)
        # instants of the downtime (the dead daemon claimed up to 0.5 s ahead:
        # those are interrupted), late enough at restart to be missed fires
        down = [r for r in got if killed_at + 1000 < r["scheduled_at"] < restart_at - 2500]
        assert len(down) >= 2, (name, killed_at, restart_at, instants)
        states = {(r["status"], r["trigger"]) for r in down}
        if name == "once":
            cu = [r for r in got if r["trigger"] == "catch_up"]
            assert len(cu) == 1 and cu[0]["status"] == "succeeded", got
            # the latest missed instant ran, the earlier ones are recorded missed
            assert cu[0]["scheduled_at"] >= down[-1]["scheduled_at"], (cu, down)
            assert cu[0]["scheduled_at"] < restart_at - 1000
            assert all(r["status"] == "missed" for r in down if r is not cu[0]), down
        elif name == "skip":
            assert states == {("missed", "schedule")}, states
        else:
            assert states == {("succeeded", "catch_up")}, states
    store_check(symbi)


def test_sigterm_interrupts_after_shutdown_timeout(symbi, daemons, tmp_path):
    pidfile = tmp_path / "pid"
    write_config(symbi.data_dir, {"shutdown_timeout_seconds": 2})
    at = next_second(1.5)
    iso_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at / 1000))
    write_agents(symbi.data_dir, f"""
agent long {{ command: "echo $$ > {pidfile}; sleep 60 & wait" }}
schedule {{ name: "long" agent: "long" at: "{iso_at}" }}
""")
    d = start(symbi, daemons)
    wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), timeout=10,
               what="the job to start")
    pid = int(pidfile.read_text())
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=10) == 0
    took = time.monotonic() - t0
    assert 1.8 <= took <= 3.5, took
    r = runs(symbi, "long")[0]
    assert r["status"] == "interrupted", r
    assert not pid_alive(pid)
    assert not os.path.exists(f"/proc/{pid}") or not pid_alive(pid)
    # the whole group is gone, the background sleep included
    wait_until(lambda: os.system(f"pgrep -g {pid} >/dev/null 2>&1") != 0, timeout=3,
               what="the process group to go")


def test_huge_output_and_sigterm_ignored(symbi, daemons):
    at = next_second(1.5)
    iso_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at / 1000))
    write_agents(symbi.data_dir, f"""
agent big {{ command: "head -c 52428800 /dev/zero | tr '\\\\0' y" }}
agent stubborn {{ command: "trap '' TERM; sleep 30" timeout: "1s" }}
schedule {{ name: "big" agent: "big" at: "{iso_at}" }}
schedule {{ name: "stubborn" agent: "stubborn" at: "{iso_at}" }}
""")
    start(symbi, daemons)
    big = wait_until(lambda: [r for r in runs(symbi, "big") if r["finished_at"]], timeout=30,
                     what="the big run")[0]
    assert big["status"] == "succeeded"
    assert big["output_truncated"] == 1
    assert len(big["output"]) == 1024 * 1024 and set(big["output"]) == {"y"}
    st = wait_until(lambda: [r for r in runs(symbi, "stubborn") if r["finished_at"]],
                    timeout=15, what="the stubborn run")[0]
    assert st["status"] == "timed_out"
    assert 5800 <= st["finished_at"] - st["started_at"] <= 8000, st
