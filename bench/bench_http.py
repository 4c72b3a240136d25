"""bench_http.py - HTTP API throughput and latency with wrk on loopback
(issue 7, item 6): GET /api/v1/schedule/{id}, GET /api/v1/schedule?status=active
with 1,000 jobs, and POST /api/v1/schedule; the single-job GET in each
threading mode of the server; and the scheduler's dispatch lag (from
/metrics) idle and under the GET load. Prints one line per figure.

Usage: bench_http.py [BUILD_DIR]   (env BENCH_SECONDS, default 10)"""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
BIN = os.environ.get("SYMBI_BIN", str(ROOT / BUILD / "symbi"))
SECS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNS = int(os.environ.get("BENCH_CONNECTIONS", "16"))

POST_LUA = r"""
local n = 0
local next_tid = 0
function setup(thread) thread:set("tid", next_tid); next_tid = next_tid + 1 end
request = function()
  n = n + 1
  local body = string.format(
    '{"name":"post-%d-%d","agent_id":"noop","cron_expr":"0 0 1 1 *"}', tid, n)
  return wrk.format("POST", "/api/v1/schedule", {["Content-Type"] = "application/json"}, body)
end
"""


def start(home, mode=None, threads=None, agents=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYMBI_")}
    env["SYMBI_HOME"] = home
    if mode:
        env["SYMBI_HTTP_MODE"] = mode
    if threads:
        env["SYMBI_HTTP_THREADS"] = str(threads)
    log = open(os.path.join(home, f"daemon-{mode}-{threads}.log"), "w+")
    args = [BIN, "up", "--listen", "127.0.0.1:0"]
    if agents:
        args += ["--agents", agents]
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=home)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        log.flush()
        m = re.search(r"listening on \S+ port=(\d+)", Path(log.name).read_text())
        if m:
            return p, int(m.group(1))
        if p.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit("daemon did not start:\n" + Path(log.name).read_text())


def stop(p):
    p.terminate()
    try:
        p.wait(timeout=40)
    except subprocess.TimeoutExpired:
        p.kill()


def call(port, method, path, obj=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps(obj) if obj is not None else None
    c.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data) if data else None


def wrk(port, path, script=None, secs=SECS, conns=CONNS):
    args = ["wrk", "-t2", f"-c{conns}", f"-d{secs}s", "--latency"]
    if script:
        args += ["-s", script]
    args.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(args, capture_output=True, text=True, timeout=secs + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return rps, p99, int(bad.group(1)) if bad else 0, errors.group(1) if errors else ""


def report(label, res):
    rps, p99, bad, errs = res
    extra = f" non2xx={bad}" if bad else ""
    extra += f" socket_errors=({errs})" if errs else ""
    print(f"{label:58s} {rps:10.0f} req/s  p99 {p99:7.2f} ms{extra}", flush=True)


def lag_stats(port):
    _, text = None, None
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    s = re.search(r"^symbiont_cron_schedule_lag_seconds_sum (\S+)$", text, re.M)
    n = re.search(r"^symbiont_cron_schedule_lag_seconds_count (\S+)$", text, re.M)
    return (float(s.group(1)), float(n.group(1))) if s and n else (0.0, 0.0)


def main():
    if shutil.which("wrk") is None:
        raise SystemExit("bench_http: wrk is not installed (mk/packages-bench.txt)")
    load = os.getloadavg()
    print(f"bench_http: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}, {SECS}s per run, wrk -t2 -c{CONNS}", flush=True)
    with tempfile.TemporaryDirectory(prefix="symbi-bench-") as home:
        agents = os.path.join(home, "agents")
        os.mkdir(agents)
        Path(agents, "noop.symbi").write_text('agent noop {\n  builtin: "noop"\n}\n')
        p, port = start(home, agents=agents)
        try:
            ids = []
            for i in range(1000):
                st, j = call(port, "POST", "/api/v1/schedule",
                             {"name": f"job-{i:04d}", "agent_id": "noop", "cron_expr": "0 0 1 1 *"})
                assert st == 201, j
                ids.append(j["id"])
            # a job firing every second, for the scheduler's dispatch lag
            st, j = call(port, "POST", "/api/v1/schedule",
                         {"name": "ticker", "agent_id": "noop", "cron_expr": "* * * * * *"})
            assert st == 201, j
            time.sleep(3)
            s0, n0 = lag_stats(port)
            time.sleep(SECS)
            s1, n1 = lag_stats(port)
            idle = (s1 - s0) / (n1 - n0) * 1000 if n1 > n0 else float("nan")
            report("GET /api/v1/schedule/{id} (pool, default threads)",
                   wrk(port, f"/api/v1/schedule/{ids[500]}"))
            s2, n2 = lag_stats(port)
            loaded = (s2 - s1) / (n2 - n1) * 1000 if n2 > n1 else float("nan")
            print(f"{'scheduler dispatch lag, mean (idle / under GET load)':58s} "
                  f"{idle:7.2f} ms / {loaded:7.2f} ms  ({int(n1 - n0)} / {int(n2 - n1)} fires)",
                  flush=True)
            st, _ = call(port, "DELETE", "/api/v1/schedule/ticker")
            report("GET /api/v1/schedule?status=active (1,000 jobs)",
                   wrk(port, "/api/v1/schedule?status=active", conns=8))
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
                f.write(POST_LUA)
            try:
                report("POST /api/v1/schedule", wrk(port, "/api/v1/schedule", script=f.name))
            finally:
                os.unlink(f.name)
        finally:
            stop(p)
        # the same single-job GET in each threading mode of the server
        for mode, threads in (("pool", 1), ("pool", 4), ("epoll", None), ("thread", None)):
            p, port = start(home, mode, threads)
            try:
                report(f"GET /api/v1/schedule/{{id}} mode={mode} threads={threads or '-'}",
                       wrk(port, f"/api/v1/schedule/{ids[500]}"))
            finally:
                stop(p)


if __name__ == "__main__":
    main()
