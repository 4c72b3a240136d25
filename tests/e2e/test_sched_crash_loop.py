"""End-to-end crash loop (issue 10's guarantees kept): 40 jobs firing every
second, the daemon killed with SIGKILL at a random moment ten times, then a
clean run and stop. The fire ledger must hold every instant of every job
exactly once (no duplicate, none missing), nothing may be left queued or
running, and the store must pass its integrity checks."""
import os
import random
import signal
import time

from sched_util import runs, start, store_check, wait_until, write_agents, write_config

JOBS = 40
CYCLES = 10


def test_kill_9_loop_keeps_the_ledger_whole(symbi, daemons):
    write_config(symbi.data_dir, {"max_concurrent_jobs": 64})
    write_agents(symbi.data_dir, 'agent nop { builtin: "noop" }\n' + "".join(
        f'schedule {{ name: "k{i:02d}" agent: "nop" cron: "* * * * * *" }}\n'
        for i in range(JOBS)))
    rng = random.Random(10)
    for _ in range(CYCLES):
        d = start(symbi, daemons)
        time.sleep(rng.uniform(0.8, 2.5))
        os.killpg(d.proc.pid, signal.SIGKILL)
        d.proc.wait()
    d = start(symbi, daemons)
    wait_until(lambda: not runs(symbi, status="running") and
               not [r for r in runs(symbi, status="queued") if r["trigger"] == "retry"],
               timeout=30, what="recovered runs to finish")
    time.sleep(2)
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=30) == 0

    got = runs(symbi)
    left = [r for r in got if r["status"] in ("queued", "running")]
    assert not left, left[:10]
    dup = missing = 0
    for i in range(JOBS):
        instants = sorted(r["scheduled_at"] for r in got
                          if r["job_name"] == f"k{i:02d}" and r["attempt"] == 1)
        dup += len(instants) - len(set(instants))
        span = (instants[-1] - instants[0]) // 1000 + 1
        missing += span - len(set(instants))
    print(f"crash loop: {CYCLES} kill -9 cycles, {len(got)} records, "
          f"{dup} duplicated, {missing} missing instants")
    assert dup == 0 and missing == 0
    store_check(symbi)  # integrity_check and foreign_key_check on SQLite
