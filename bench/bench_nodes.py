#!/usr/bin/env python3
"""bench_nodes.py [BUILD] - several nodes on one PostgreSQL store (issue 16
item 6), SQLite's single node beside them. For 1, 2 and 3 `symbi up` nodes
on a throwaway PostgreSQL server (tests/tools/pg_server.py), and 1 node on
SQLite:

- throughput: N one-shot jobs (builtin noop) due at one instant; runs per
  second from that instant until every run is recorded `succeeded` (each
  run claimed, started, recorded: the claims-per-second figure);
- dispatch latency: J jobs firing every second for S seconds; the start lag
  (started_at - scheduled_at, read through the API) median and p99.

BENCH_NODES_RUNS (default 2000), BENCH_NODES_JOBS (100), BENCH_NODES_SECS
(15) scale it. The machine's load average is printed: on a shared machine it
dominates the tail."""
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
build = sys.argv[1] if len(sys.argv) > 1 else "build"
os.environ.setdefault("SYMBI_BIN", str(ROOT / build / "symbi"))
os.environ.setdefault("SYMBI_BUILD", str(ROOT / build))

import cluster as C  # noqa: E402

RUNS = int(os.environ.get("BENCH_NODES_RUNS", "2000"))
JOBS = int(os.environ.get("BENCH_NODES_JOBS", "100"))
SECS = int(os.environ.get("BENCH_NODES_SECS", "15"))
JSON = os.environ.get("BENCH_NODES_JSON") == "1"  # JSON lines instead of text
AGENTS = 'agent w { builtin: "noop" }\n'
CONFIG = {"max_concurrent_jobs": 64}


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + ".%03dZ" % (ms % 1000)


def succeeded(c):
    """Runs recorded for the one-shots (run_count moves when a run's
    outcome is written), through the CLI: the API's job list is cached by
    the store's change mark, which a recorded outcome does not move on
    PostgreSQL."""
    import json
    return sum(j.get("run_count", 0) for j in json.loads(c.cli("cron", "list", "--format", "json"))
               if j["name"].startswith("t"))


def throughput(c):
    api = c.api()
    # the instant: after the jobs are made (about 3 ms a job through the API)
    at = int((time.time() + 3 + RUNS * 0.004) * 1000) // 1000 * 1000 + 1000
    for i in range(RUNS):
        st, b = api.post("/api/v1/schedule", {"name": f"t{i:05d}", "agent_id": "w",
                                              "at": iso(at)})
        assert st == 201, (st, b)
    late = time.time() * 1000 - at
    while time.time() * 1000 < at:
        time.sleep(0.01)
    deadline = time.time() + 300
    while succeeded(c) < RUNS:
        assert time.time() < deadline, "the one-shots did not all run"
        time.sleep(0.02)
    took = time.time() - at / 1000.0
    return RUNS / took, late


def latency(c):
    c.add_jobs(JOBS, prefix="l")
    time.sleep(SECS)
    lags = []
    for r in c.runs():
        if r["job_name"].startswith("l") and r["trigger"] == "schedule" and r["started_at"]:
            lags.append(C.parse_time(r["started_at"]) - C.parse_time(r["scheduled_at"]))
    return C.percentile(lags, 50), C.percentile(lags, 99), len(lags)


def bench(label, base, url, n, store):
    c = C.Cluster(base, url, n, config=CONFIG, agents_text=AGENTS)
    try:
        c.start()
        rate, late = throughput(c)
        med, p99, count = latency(c)
        load = os.getloadavg()[0]
        if JSON:  # one line for bench/bench.py (area 6's node sweep)
            import json
            print(json.dumps({"store": store, "nodes": n, "runs_per_s": rate, "lag_median_ms": med,
                              "lag_p99_ms": p99, "starts": count, "load": load,
                              "late": late > 0}), flush=True)
        else:
            print(f"  {label:<14} {rate:9.0f} runs/s   lag median {med} ms  p99 {p99} ms "
                  f"({count} starts)  load {load:.1f}"
                  + ("  (jobs made after their instant: catch_up)" if late > 0 else ""),
                  flush=True)
        c.stop_all()
    finally:
        c.kill_all()


def main():
    why = C.postgres_support()
    if not JSON:
        print(f"bench_nodes: {RUNS} one-shots due at one instant; {JOBS} jobs every second for "
              f"{SECS} s; max_concurrent_jobs {CONFIG['max_concurrent_jobs']} per node; "
              f"load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="symbi-bench-nodes-") as tmp:
        bench("sqlite 1 node", Path(tmp) / "sqlite", str(Path(tmp) / "sqlite" / "symbi.db"), 1,
              "SQLite")
        if why is not None:
            print(f"  postgres: skipped ({why})", file=sys.stderr if JSON else sys.stdout)
            return 0
        with C.pg_server.PgServer() as pg:
            for n in (1, 2, 3):
                bench(f"postgres {n} node{'s' if n > 1 else ''}", Path(tmp) / f"pg{n}",
                      pg.fresh_url(), n, "PostgreSQL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
