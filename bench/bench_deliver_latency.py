"""bench_deliver_latency.py - the scheduler's dispatch latency with and
without a slow webhook being retried (issue 13, item 5), on the real
`symbi up`: 50 jobs due every second (builtin noop) for a window, once
alone and once next to a job whose webhook answers 500 after 5 s (so every
delivery is retried); start - scheduled of the 50 jobs, median and p99.
Usage: bench_deliver_latency.py [BUILD]; BENCH_DELIVER_SECONDS sets the
window (default 20)."""
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sched import Daemon, db, pct  # noqa: E402

JOBS = 50


class Slow(BaseHTTPRequestHandler):
    hits = 0

    def log_message(self, *a):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Slow.hits += 1
        time.sleep(5)
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()


def phase(tmp: Path, name: str, seconds: int, slow_url=None):
    data = tmp / name
    (data / "agents").mkdir(parents=True)
    text = 'agent nop { builtin: "noop" }\n' + "".join(
        f'schedule {{ name: "j{i:03d}" agent: "nop" cron: "* * * * * *" }}\n'
        for i in range(JOBS))
    if slow_url:
        text += (f'schedule {{ name: "slow" agent: "nop" cron: "* * * * * *" max_concurrent: 3 '
                 f'delivery: ["webhook"] webhook_url: "{slow_url}" }}\n')
    (data / "agents" / "jobs.symbi").write_text(text)
    d = Daemon(data, "[scheduler]\nmax_concurrent_jobs = 100\n[scheduler.delivery]\n"
                     "webhook_timeout_seconds = 10\nwebhook_retry_attempts = 2\n"
                     "webhook_retry_backoff_seconds = 1\n")
    t0 = time.time()
    time.sleep(seconds + 3)
    d.stop()
    c = db(data)
    rows = c.execute("SELECT scheduled_at, started_at, status, job_name FROM runs "
                     "WHERE job_name != 'slow'").fetchall()
    slow = c.execute("SELECT deliveries FROM runs WHERE job_name = 'slow' AND "
                     "deliveries IS NOT NULL AND deliveries != '[]'").fetchall()
    c.close()
    window = sorted({r[0] for r in rows if r[0] >= t0 * 1000 + 2000})[:seconds]
    sel = set(window)
    lags = [r[1] - r[0] for r in rows if r[0] in sel and r[2] == "succeeded"]
    extra = (f"; slow webhook: {Slow.hits} requests, {len(slow)} runs with receipts"
             if slow_url else "")
    if lags:
        print(f"  {name}: {len(window)} s x {JOBS} jobs/s, {len(lags)} runs: start - scheduled "
              f"median {statistics.median(lags):.0f} ms, p99 {pct(lags, 0.99)} ms, "
              f"max {max(lags)} ms{extra}")
    else:
        print(f"  {name}: no runs recorded{extra}")


def main():
    seconds = int(os.environ.get("BENCH_DELIVER_SECONDS", "20"))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/slow"
    print("dispatch latency with a 5-second-slow webhook being retried:")
    with tempfile.TemporaryDirectory(prefix="symbi-bench-dlv-") as tmp:
        phase(Path(tmp), "alone", seconds)
        phase(Path(tmp), "with slow webhook", seconds, url)
    srv.shutdown()


if __name__ == "__main__":
    main()
