"""aps.py - the APScheduler 3 harness of `make bench` (bench/bench.py drives
it): a BackgroundScheduler with its SQLAlchemy job store on a SQLite file and a
thread-pool executor; one measurement per invocation, printed as one JSON
object on stdout.
  aps.py add N FILL            N date jobs (due a day later) with add_job, then the
                               store filled to FILL jobs (one transaction) for the RSS
  aps.py latency SECONDS       100 date-trigger jobs due each second
  aps.py burst N THREADS       N jobs due at one instant (APS_BENCH_LIMIT_S bounds the wait)
  aps.py throughput N THREADS noop|true
APScheduler has no batched add: add_job is one SQLite transaction (about 50 a
second on this disk), so the jobs of the other measurements are written into
its store in one transaction with the store's own serialization (prefill),
and the RSS with FILL jobs is measured the same way. It keeps no run history: a date job is
removed from the store when it is submitted, and the start and end of a run
are taken in the job's body and from EVENT_JOB_EXECUTED, in memory."""
import json
import math
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.util import datetime_to_utc_timestamp
from apscheduler.schedulers.background import BackgroundScheduler

STARTS = []  # (due ms, start ms) appended by the job body
ENDS = []
MISSED = []
LOCK = threading.Lock()


def noop(due):
    STARTS.append((due, time.time() * 1000))


def run_true(due):
    STARTS.append((due, time.time() * 1000))
    subprocess.run(["/bin/true"], check=True)


def rss_mib() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def scheduler(path, threads):
    s = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{path}"),
                   "mem": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(threads)},
        job_defaults={"misfire_grace_time": None, "coalesce": False, "max_instances": 1},
        timezone="UTC")

    def on_event(ev):
        if ev.code == EVENT_JOB_MISSED:
            MISSED.append(ev.job_id)
        else:
            ENDS.append(time.time() * 1000)

    s.add_listener(on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return s


def prefill(s, dues, fn, prefix):
    """Writes date jobs due at dues into the SQLite store in one transaction,
    serialized as SQLAlchemyJobStore.add_job does (the scheduler paused)."""
    for i, due in enumerate(dues):
        s.add_job(fn, "date", run_date=datetime.fromtimestamp(due / 1000, timezone.utc),
                  args=[due], id=f"{prefix}{i}", jobstore="mem")
    jobs = s.get_jobs(jobstore="mem")
    store = s._lookup_jobstore("default")
    rows = [{"id": j.id, "next_run_time": datetime_to_utc_timestamp(j.next_run_time),
             "job_state": pickle.dumps(j.__getstate__(), store.pickle_protocol)} for j in jobs]
    with store.engine.begin() as conn:
        conn.execute(store.jobs_t.insert(), rows)
    s.remove_all_jobs(jobstore="mem")


def wait_for(n, limit_s):
    deadline = time.monotonic() + limit_s
    while len(ENDS) + len(MISSED) < n and time.monotonic() < deadline:
        time.sleep(0.05)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    with tempfile.TemporaryDirectory(prefix="symbi-bench-aps-") as tmp:
        path = os.path.join(tmp, "jobs.sqlite")
        if cmd == "add":
            n, fill = int(args[0]), int(args[1])
            s = scheduler(path, 64)
            s.start()
            far = datetime.now(timezone.utc) + timedelta(days=1)
            t0 = time.perf_counter()
            for i in range(n):
                s.add_job(noop, "date", run_date=far, args=[0], id=f"job-{i}")
            secs = time.perf_counter() - t0
            s.pause()
            far_ms = far.timestamp() * 1000
            prefill(s, [far_ms] * (fill - n), noop, "fill")
            s.resume()
            time.sleep(3)
            count = len(s.get_jobs())
            out = {"n": n, "seconds": secs, "per_s": n / secs, "client_rss_mib": rss_mib(),
                   "jobs": count, "db_bytes": os.path.getsize(path)}
            s.shutdown(wait=False)
        elif cmd == "latency":
            secs = int(args[0])
            s = scheduler(path, 200)
            s.start(paused=True)
            t0 = (math.ceil(time.time()) + 4) * 1000
            dues = [t0 + k * 1000 for k in range(secs) for _ in range(100)]
            prefill(s, dues, noop, "l")
            late = time.time() * 1000 > t0
            s.resume()
            wait_for(len(dues), secs + (t0 / 1000 - time.time()) + 20)
            s.shutdown(wait=True)
            out = {"n": len(dues), "done": len(STARTS), "missed": len(MISSED), "late": late,
                   "due": [d for d, _ in STARTS], "lag": [st - d for d, st in STARTS]}
        elif cmd in ("burst", "throughput"):
            n, threads = int(args[0]), int(args[1])
            fn = run_true if len(args) > 2 and args[2] == "true" else noop
            s = scheduler(path, threads)
            s.start(paused=True)
            due = (math.ceil(time.time()) + 3) * 1000
            prefill(s, [due] * n, fn, "b")
            late = time.time() * 1000 > due
            s.resume()
            wait_for(n, float(os.environ.get("APS_BENCH_LIMIT_S", "900")))
            s.shutdown(wait=False)
            started = max(st for _, st in STARTS) - due if STARTS else float("nan")
            recorded = max(ENDS) - due if ENDS else float("nan")
            out = {"n": n, "done": len(ENDS), "missed": len(MISSED), "late": late,
                   "started_s": started / 1000, "recorded_s": recorded / 1000,
                   "per_s": len(ENDS) / (recorded / 1000) if ENDS else 0}
        else:
            raise SystemExit(f"aps.py: unknown command {cmd}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
