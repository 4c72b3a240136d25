"""bench.py - `make bench`: every area of the performance report, symbi and
its peers side by side in one run on this machine, each measurement repeated
(RUNS, or once when a single run takes longer than SLOW_S), the raw results
written to bench/out/results.json and the report to bench/REPORT.md
(bench/report.py). Each part's wall time is recorded for the 25-minute budget.
Usage: bench.py BUILD_DIR [AREA...]   (areas: cron add latency burst throughput
nodes alone; default all). BENCH_RUNS overrides RUNS."""
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "peers"))
sys.path.insert(0, str(HERE))
import servers  # noqa: E402
import report  # noqa: E402

BUILD = ROOT / (sys.argv[1] if len(sys.argv) > 1 else "build-bench")
BIN = str(BUILD / "symbi")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SLOW_S = 20  # a measurement taking longer than this is run once
PY = "/usr/bin/python3"
NODE = "node"
PEERS = HERE / "peers"
OUT = HERE / "out"
LATENCY_S = 60
ADD_N = 100000
BURST_N = 10000
TP_N = 2000
APS_TP_N = 300
NODES_N = 3000
if os.environ.get("BENCH_QUICK"):  # a smoke test of the pipeline: small sizes, wrong labels
    LATENCY_S, ADD_N, BURST_N, TP_N, APS_TP_N, NODES_N = 6, 5000, 500, 200, 100, 300

R = {"areas": {}, "parts": [], "notes": {}}


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def call(args, timeout=900, env=None):
    """Runs a harness; returns its last stdout line parsed as JSON."""
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({p.returncode}):\n"
                           f"{p.stdout[-1500:]}\n{p.stderr[-1500:]}")
    return json.loads(lines[-1])


def repeat(args, runs=None, **kw):
    """The harness run `runs` times (once if the first run is slow)."""
    out = []
    for i in range(runs or RUNS):
        t = time.monotonic()
        out.append(call(args, **kw))
        if time.monotonic() - t > SLOW_S:
            break
    return out


def put(area, metric, system, values, unit, better, note=""):
    rows = R["areas"].setdefault(area, [])
    for r in rows:
        if r["metric"] == metric:
            break
    else:
        r = {"metric": metric, "unit": unit, "better": better, "systems": {}}
        rows.append(r)
    r["systems"][system] = {"values": [v for v in values if v is not None], "note": note}


def note(area, text):
    R["notes"].setdefault(area, []).append(text)


def safely(area, system, fn):
    try:
        fn()
    except Exception as e:  # a peer that fails is reported, the run goes on
        log(f"{area}/{system} failed: {e}")
        note(area, f"{system}: the measurement failed: {str(e).splitlines()[0][:300]}")


# ---- area 1: cron ----

def area_cron():
    cron_json = OUT / "bench_cron.json"
    sy, ci, cn = [], [], []
    for _ in range(RUNS):
        subprocess.run([str(BUILD / "bench" / "bench_cron")], cwd=ROOT, capture_output=True,
                       timeout=300)
        sy.append(json.loads(cron_json.read_text()))
        ci.append(call([PY, PEERS / "croniter_cron.py", cron_json]))
        cn.append(call([NODE, PEERS / "croner_cron.mjs", cron_json]))
    for key, metric, better, unit in (("ns_utc", "next fire, UTC", "lower", "ns/op"),
                                      ("ns_berlin", "next fire, Europe/Berlin", "lower", "ns/op"),
                                      ("parse_per_s", "parses", "higher", "/s")):
        skey = {"ns_utc": "median_ns_utc", "ns_berlin": "median_ns_berlin"}.get(key, key)
        put("cron", metric, "symbi", [r[skey] for r in sy], unit, better)
        put("cron", metric, "croniter", [r[key] for r in ci], unit, better)
        put("cron", metric, "croner", [r[key] for r in cn], unit, better)
    note("cron", "20 typical expressions (bench/bench_cron.c), the same start instants for all "
         "three; the figure is the median over the expressions of the best of several passes.")


# ---- area 2: add 100,000 jobs ----

ADD_BATCH = 5000
APS_ADD_N = 300


def area_add(redis_port, pg_url, pg_pid, redis_pid):
    res = repeat([PY, HERE / "symbi_harness.py", BIN, "add", str(ADD_N), str(ADD_BATCH)])
    put("add", "add 100,000 jobs: time", "symbi", [r["seconds"] for r in res], "s", "lower")
    put("add", "add rate", "symbi", [r["per_s"] for r in res], "jobs/s", "higher",
        f"`symbi cron add --file`, {ADD_BATCH:,} schedules a file, one transaction each")
    put("add", "memory with 100,000 jobs", "symbi", [r["rss_mib"] for r in res], "MiB", "lower",
        "daemon RSS (the store is in the process)")

    def bull():
        vals = []
        for _ in range(RUNS):
            r = call([NODE, PEERS / "bullmq.mjs", str(redis_port), "add", str(ADD_N),
                      str(ADD_BATCH)])
            r["server_mib"] = servers.pss_mib(redis_pid)
            vals.append(r)
        put("add", "add 100,000 jobs: time", "BullMQ", [r["seconds"] for r in vals], "s", "lower")
        put("add", "add rate", "BullMQ", [r["per_s"] for r in vals], "jobs/s", "higher",
            f"addBulk of {ADD_BATCH:,} delayed jobs")
        put("add", "memory with 100,000 jobs", "BullMQ",
            [r["server_mib"] + r["client_rss_mib"] for r in vals], "MiB", "lower",
            "redis-server PSS + the Node process with a Worker")

    def boss():
        vals = []
        for _ in range(RUNS):
            r = call([NODE, PEERS / "pgboss.mjs", pg_url, "add", str(ADD_N), str(ADD_BATCH)])
            r["server_mib"] = servers.pss_mib(pg_pid)
            vals.append(r)
        put("add", "add 100,000 jobs: time", "pg-boss", [r["seconds"] for r in vals], "s", "lower")
        put("add", "add rate", "pg-boss", [r["per_s"] for r in vals], "jobs/s", "higher",
            f"insert() of {ADD_BATCH:,} jobs")
        put("add", "memory with 100,000 jobs", "pg-boss",
            [r["server_mib"] + r["client_rss_mib"] for r in vals], "MiB", "lower",
            "PostgreSQL PSS (all its processes) + the Node process with a worker")

    def aps():
        r = call([PY, PEERS / "aps.py", "add", str(APS_ADD_N), str(ADD_N)])
        put("add", "add 100,000 jobs: time", "APScheduler", [ADD_N / r["per_s"]], "s", "lower",
            f"extrapolated from {APS_ADD_N} add_job calls")
        put("add", "add rate", "APScheduler", [r["per_s"]], "jobs/s", "higher",
            "add_job (no batched add: one SQLite transaction per job)")
        put("add", "memory with 100,000 jobs", "APScheduler", [r["client_rss_mib"]], "MiB", "lower",
            "scheduler process RSS (SQLite in the process)")

    safely("add", "BullMQ", bull)
    safely("add", "pg-boss", boss)
    safely("add", "APScheduler", aps)


# ---- area 3: dispatch latency ----

def lat_stats(r, secs):
    """Per-window p99 over three equal windows of the due instants, jobs not
    started counted as later than any that did; and the whole run's figures."""
    lags = r["lag"]
    dues = r["due"]
    n = r["n"]
    t0 = min(dues) if dues else 0
    w = max(1, secs // 3)
    windows = []
    for k in range(3):
        xs = sorted(lag for lag, d in zip(lags, dues) if t0 + k * w * 1000 <= d < t0 + (k + 1) * w * 1000)
        expected = n // 3
        xs += [float("inf")] * max(0, expected - len(xs))
        windows.append(pctl(xs, 0.99))
    allx = sorted(lags) + [float("inf")] * max(0, n - len(lags))
    return {"p99_windows": windows, "median": pctl(allx, 0.5), "p99": pctl(allx, 0.99),
            "max": allx[-1] if allx else None, "not_started": max(0, n - len(lags))}


def pctl(xs, p):
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else None


def area_latency(redis_port, pg_url):
    runs = {
        "symbi": lambda: call([PY, HERE / "symbi_harness.py", BIN, "latency", str(LATENCY_S)]),
        "BullMQ": lambda: call([NODE, PEERS / "bullmq.mjs", str(redis_port), "latency",
                                str(LATENCY_S)]),
        "pg-boss": lambda: call([NODE, PEERS / "pgboss.mjs", pg_url, "latency", str(LATENCY_S)]),
        "APScheduler": lambda: call([PY, PEERS / "aps.py", "latency", str(LATENCY_S)]),
    }
    for system, fn in runs.items():
        def one(system=system, fn=fn):
            r = fn()
            s = lat_stats(r, LATENCY_S)
            how = {"symbi": "`at` jobs, start = started_at",
                   "BullMQ": "delayed jobs, start = processedOn",
                   "pg-boss": "startAfter, start = started_on (polling every 0.5 s)",
                   "APScheduler": "date jobs on SQLite, start = entry of the job's body"}[system]
            put("latency", "start - due, p99 (3 windows of 20 s)", system, s["p99_windows"], "ms",
                "lower", how)
            put("latency", "start - due, median", system, [s["median"]], "ms", "lower")
            put("latency", "start - due, max", system, [s["max"]], "ms", "lower")
            put("latency", "jobs not started by the end", system, [s["not_started"]], "", "lower")
        safely("latency", system, one)
    note("latency", f"100 one-shot jobs due at each whole second for {LATENCY_S} s (6,000 jobs), "
         "no-op body; one run per system, its p99 taken per 20-second window (the spread is "
         "over the windows); a job that had not started when the run ended counts as later "
         "than every job that did.")


# ---- areas 4 and 5: burst and throughput ----

BURST_APS_LIMIT_S = 60


def area_burst(redis_port, pg_url):
    conc = str(BURST_N)
    systems = {
        "symbi": [PY, HERE / "symbi_harness.py", BIN, "burst", str(BURST_N), conc],
        "BullMQ": [NODE, PEERS / "bullmq.mjs", str(redis_port), "burst", str(BURST_N), conc],
        "pg-boss": [NODE, PEERS / "pgboss.mjs", pg_url, "burst", str(BURST_N), conc],
        "APScheduler": [PY, PEERS / "aps.py", "burst", str(BURST_N), "100"],
    }
    for system, args in systems.items():
        def one(system=system, args=args):
            env = dict(os.environ, APS_BENCH_LIMIT_S=str(BURST_APS_LIMIT_S))
            res = repeat(args, env=env)
            inf = float("inf")
            put("burst", "all 10,000 started after the instant", system,
                [r["started_s"] if r["done"] >= r["n"] else inf for r in res], "s", "lower")
            put("burst", "all 10,000 recorded after the instant", system,
                [r["recorded_s"] if r["done"] >= r["n"] else inf for r in res], "s", "lower")
            for r in res:
                if r["done"] < r["n"]:
                    note("burst", f"{system}: {r['done']:,} of {r['n']:,} ran within the "
                         f"{BURST_APS_LIMIT_S} s the harness waits ({r['per_s']:.0f} runs/s); "
                         f"all would take about {r['n'] / max(r['per_s'], 1e-9):.0f} s")
        safely("burst", system, one)
    note("burst", "10,000 one-shot jobs due at the same instant, no-op body, a global limit "
         "of 10,000 concurrent runs (symbi max_concurrent_jobs, BullMQ worker concurrency, "
         "pg-boss batchSize; APScheduler: a 100-thread pool, as 10,000 threads is not a "
         "configuration anyone runs). Recorded: symbi's history row finished, BullMQ "
         "finishedOn, pg-boss completed_on, APScheduler EVENT_JOB_EXECUTED (no history).")


def area_throughput(redis_port, pg_url):
    for body, label in (("noop", "no-op body"), ("true", "/bin/true")):
        systems = {
            "symbi": [PY, HERE / "symbi_harness.py", BIN, "throughput", str(TP_N), "64", body],
            "BullMQ": [NODE, PEERS / "bullmq.mjs", str(redis_port), "throughput", str(TP_N),
                       "64", body],
            "pg-boss": [NODE, PEERS / "pgboss.mjs", pg_url, "throughput", str(TP_N), "64", body],
            "APScheduler": [PY, PEERS / "aps.py", "throughput", str(APS_TP_N), "64", body],
        }
        for system, args in systems.items():
            def one(system=system, args=args, label=label):
                res = repeat(args)
                put("throughput", f"runs/s, {label}", system, [r["per_s"] for r in res], "/s",
                    "higher", f"{res[0]['n']:,} jobs")
            safely("throughput", system, one)
    note("throughput", f"{TP_N:,} one-shot jobs ({APS_TP_N} for APScheduler) due at one instant, "
         "at most 64 running at once (pg-boss: batchSize 64), until the last is recorded "
         "finished; runs/s = jobs / (last finish - instant). History: symbi's runs table, "
         "BullMQ's completed set, pg-boss's job table; APScheduler keeps none.")


# ---- area 6: several nodes ----

# Area 6's symbi binary: this build's unless SYMBI_NODES_BIN names another
# (one built with the PostgreSQL backend, before that has landed).
NODES_BIN = os.environ.get("SYMBI_NODES_BIN", BIN)


def area_nodes(redis_port, pg_url):
    def symbi():
        if NODES_BIN != BIN:
            note("nodes", f"symbi: the binary of this area is SYMBI_NODES_BIN={NODES_BIN} "
                 f"({run_text([NODES_BIN, 'version']).strip()})")
        r = call([PY, HERE / "symbi_harness.py", NODES_BIN, "multi", str(NODES_N), "3", pg_url])
        if r.get("refused"):
            log("symbi: PostgreSQL backend not built")
            note("nodes", "symbi: PostgreSQL backend not built (`symbi up --store postgres://...` "
                 "was refused: " + r["log"].strip().splitlines()[-1][:200] + ")")
            return
        res = [r] + repeat([PY, HERE / "symbi_harness.py", NODES_BIN, "multi", str(NODES_N), "3",
                            pg_url], runs=RUNS - 1)
        record("symbi", res)

    def record(system, res):
        put("nodes", "runs/s, 3 nodes", system, [r["per_s"] for r in res], "/s", "higher")
        put("nodes", "duplicates (runs beyond one per job)", system,
            [r["duplicates"] for r in res], "", "lower")
        put("nodes", "losses (jobs that never ran)", system, [r["lost"] for r in res], "", "lower")

    def sweep():
        env = dict(os.environ, BENCH_NODES_JSON="1", SYMBI_BIN=str(NODES_BIN))
        out = run_text([PY, HERE / "bench_nodes.py", str(Path(NODES_BIN).parent)], env=env)
        rows = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
        if not rows:
            raise RuntimeError("bench_nodes.py printed no figures: " + out.strip()[-300:])
        R["sweep"] = rows

    safely("nodes", "symbi", symbi)
    safely("nodes", "symbi node sweep", sweep)
    safely("nodes", "pg-boss", lambda: record("pg-boss", repeat(
        [NODE, PEERS / "pgboss.mjs", pg_url, "multi", str(NODES_N), "3", "64"])))
    safely("nodes", "BullMQ", lambda: record("BullMQ", repeat(
        [NODE, PEERS / "bullmq.mjs", str(redis_port), "multi", str(NODES_N), "3", "64"])))
    note("nodes", "APScheduler 3 has no row: its schedulers cannot share a job store "
         "(its documentation says not to).")
    note("nodes", f"{NODES_N:,} one-shot jobs due at one instant, three nodes (symbi daemons on "
         "one PostgreSQL store; pg-boss and BullMQ worker processes, 64 at once each), every "
         "job's runs counted from the systems' own records (symbi's runs table; the ids each "
         "peer worker saw).")


# ---- area 7: symbi alone ----

def grab(text, pattern, cast=float):
    m = re.search(pattern, text, re.M)
    return cast(m.group(1)) if m else None


def run_text(args, timeout=900, env=None):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    return p.stdout + p.stderr


def area_alone():
    env = dict(os.environ, SYMBI_BIN=BIN, SYMBI_BUILD=str(BUILD), BENCH_SECONDS="5")
    t = run_text([PY, HERE / "bench_http.py", BUILD.name], env=env)
    for label, metric in (("GET /api/v1/schedule/{id} (pool", "GET one job"),
                          ("GET /api/v1/schedule?status=active", "GET list of 1,000 jobs"),
                          ("POST /api/v1/schedule ", "POST a job")):
        pat = re.escape(label) + r".*?\s(\d+) req/s\s+p99\s+([\d.]+) ms"
        m = re.search(pat, t)
        if m:
            put("alone", f"HTTP {metric}: requests/s", "symbi", [float(m.group(1))], "/s", "higher",
                "wrk -t2 -c16, 5 s")
            put("alone", f"HTTP {metric}: p99", "symbi", [float(m.group(2))], "ms", "lower")
        else:
            note("alone", f"bench_http: no figure for {metric}: {t[-300:]}")
    vals = {"dl1": [], "dl4": [], "jwt": [], "ctx": [], "ctx99": [], "dsl": [], "model": []}
    for _ in range(RUNS):
        t = run_text([str(BUILD / "bench" / "bench_deliver")])
        vals["dl1"].append(grab(t, r"deliveries, 1 thread: .* = (\d+)/s"))
        vals["dl4"].append(grab(t, r"deliveries, 4 threads: .* = (\d+)/s"))
        t = run_text([str(BUILD / "bench" / "bench_jwt")])
        vals["jwt"].append(grab(t, r"raw signature.*?median (\d+)/s"))
        t = run_text([str(BUILD / "bench" / "bench_context")])
        vals["ctx"].append(grab(t, r"context \[disk\]: load \+ save: median ([\d.]+) ms"))
        vals["ctx99"].append(grab(t, r"context \[disk\]: load \+ save: median [\d.]+ ms, p99 ([\d.]+)"))
        t = run_text([str(BUILD / "bench" / "bench_dsl")])
        vals["dsl"].append(grab(t, r"median ([\d.]+) MB/s"))
        t = run_text([str(BUILD / "bench" / "bench_model")])
        vals["model"].append(grab(t, r"openai, no context.*overhead median\s+(\d+) us"))
    put("alone", "webhook deliveries, 1 thread", "symbi", vals["dl1"], "/s", "higher",
        "to a local HTTP receiver")
    put("alone", "webhook deliveries, 4 threads", "symbi", vals["dl4"], "/s", "higher")
    put("alone", "AgentPin verifications (ES256, cached key)", "symbi", vals["jwt"], "/s", "higher")
    put("alone", "context load + save (256 KiB, disk)", "symbi", vals["ctx"], "ms", "lower",
        "median of 200 rounds")
    put("alone", "context load + save p99", "symbi", vals["ctx99"], "ms", "lower")
    put("alone", "DSL parse + validate", "symbi", vals["dsl"], "MB/s", "higher")
    put("alone", "model runner overhead per call", "symbi", vals["model"], "us", "lower")
    t = run_text([str(BUILD / "bench" / "bench_store")], env=dict(os.environ, SYMBI_BIN=BIN))
    put("alone", "due selection, 1,000 due among 1,000,000", "symbi",
        [grab(t, r"due selection, .*?: ([\d.]+) ms")], "ms", "lower", "best of 5")
    put("alone", "claim + record fires (store)", "symbi",
        [grab(t, r"claim throughput: (\d+) fires/s")], "/s", "higher", "1,000 per transaction")
    put("alone", "store API add, 10,000 per transaction", "symbi",
        [grab(t, r"batched 10000 per transaction: (\d+) jobs/s")], "jobs/s", "higher")
    put("alone", "store bytes per job", "symbi", [grab(t, r"size .*?: (\d+) bytes per job")], "B",
        "lower")
    env = dict(os.environ, SYMBI_BIN=BIN, BENCH_SCHED_ONLY="idle")
    t = run_text([PY, HERE / "bench_sched.py", BUILD.name], env=env)
    put("alone", "idle daemon with 1,000,000 jobs: RSS", "symbi",
        [grab(t, r"daemon RSS ([\d.]+) MiB")], "MiB", "lower")
    put("alone", "idle daemon with 1,000,000 jobs: CPU", "symbi",
        [grab(t, r"CPU ([\d.]+) % of a core")], "% of a core", "lower", "over 30 s, none due")


# ---- the run ----

def versions():
    v = {}
    for pkg in ("bullmq", "pg-boss", "croner", "ioredis", "pg"):
        try:
            v[pkg] = json.loads((PEERS / "node_modules" / pkg / "package.json").read_text())["version"]
        except OSError:
            v[pkg] = "?"
    for mod in ("apscheduler", "sqlalchemy", "croniter"):
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", f"python3-{mod}"],
                             capture_output=True, text=True).stdout
        v[mod] = out or "?"
    v["redis-server"] = servers.redis_version()
    v["postgresql"] = servers.pg_version()
    v["node"] = subprocess.run([NODE, "--version"], capture_output=True, text=True).stdout.strip()
    v["python"] = platform.python_version()
    v["sqlite (python)"] = __import__("sqlite3").sqlite_version
    v["symbi"] = run_text([BIN, "version"]).strip().splitlines()[0]
    return v


def machine():
    model = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = 0
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) // 1024
    return {"cpu": model, "cpus": os.cpu_count(), "memory_mib": mem,
            "kernel": platform.release(), "os": platform.platform()}


def part(name, fn, *a):
    la0 = os.getloadavg()[0]
    t = time.monotonic()
    log(f"{name} ...")
    try:
        fn(*a)
    except Exception as e:
        log(f"{name} failed: {e}")
        note(name, f"this area failed: {str(e)[:400]}")
    secs = time.monotonic() - t
    R["parts"].append({"name": name, "seconds": secs, "load_start": la0,
                       "load_end": os.getloadavg()[0]})
    log(f"{name}: {secs:.0f} s (load average {os.getloadavg()[0]:.2f})")


def main():
    want = sys.argv[2:] or ["cron", "add", "latency", "burst", "throughput", "nodes", "alone"]
    OUT.mkdir(exist_ok=True)
    t0 = time.monotonic()
    R["started"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    R["load_start"] = os.getloadavg()
    R["machine"] = machine()
    R["versions"] = versions()
    R["runs"] = RUNS
    if "cron" in want:
        part("cron", area_cron)
    with servers.redis() as (rport, rpid), servers.postgres() as (pg_url, pg_pid):
        if "add" in want:
            part("add", area_add, rport, pg_url, pg_pid, rpid)
        if "latency" in want:
            part("latency", area_latency, rport, pg_url)
        if "burst" in want:
            part("burst", area_burst, rport, pg_url)
        if "throughput" in want:
            part("throughput", area_throughput, rport, pg_url)
        if "nodes" in want:
            part("nodes", area_nodes, rport, pg_url)
    if "alone" in want:
        part("alone", area_alone)
    R["load_end"] = os.getloadavg()
    R["seconds"] = time.monotonic() - t0
    (OUT / "results.json").write_text(json.dumps(R, indent=1))
    report.write(R, HERE / "REPORT.md")
    log(f"done in {R['seconds']:.0f} s; bench/REPORT.md written")


if __name__ == "__main__":
    main()
