"""bench_cron_croniter.py - times python3-croniter on the same 20 expressions
and start instants as bench_cron (read from bench/out/bench_cron.json,
written by it earlier in the same `make bench` run) and prints how many
times faster symbi's next-fire computation is, in UTC and Europe/Berlin."""
import json
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from croniter import croniter

ROOT = Path(__file__).resolve().parents[1]
N_STARTS = 300


def starts():
    """The first N_STARTS instants of bench_cron.c's xorshift sequence."""
    x, out = 88172645463325252, []
    mask = (1 << 64) - 1
    for _ in range(N_STARTS):
        x ^= (x << 13) & mask
        x ^= x >> 7
        x ^= (x << 17) & mask
        out.append(1767225600 + x % (2 * 365 * 86400))
    return out


def time_croniter(expr, tz, instants):
    it = croniter(expr, datetime.fromtimestamp(instants[0], tz))
    dts = [datetime.fromtimestamp(s, tz) for s in instants]
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter_ns()
        for dt in dts:
            it.get_next(datetime, start_time=dt)
        best = min(best, (time.perf_counter_ns() - t0) / len(dts))
    return best


def main():
    path = ROOT / "bench" / "out" / "bench_cron.json"
    if not path.exists():
        print("bench_cron_croniter: run bench_cron first (make bench)", file=sys.stderr)
        return 1
    ours = json.loads(path.read_text())
    instants = starts()
    berlin = ZoneInfo("Europe/Berlin")
    rows = []
    for e in ours["expressions"]:
        rows.append((e["symbi"], time_croniter(e["croniter"], timezone.utc, instants),
                     time_croniter(e["croniter"], berlin, instants)))
    print(f"{'expression':22} {'croniter UTC ns':>16} {'croniter Berlin ns':>19}")
    for name, u, b in rows:
        print(f"{name:22} {u:16.0f} {b:19.0f}")
    med_u = statistics.median(r[1] for r in rows)
    med_b = statistics.median(r[2] for r in rows)
    ratio_u = med_u / ours["median_ns_utc"]
    ratio_b = med_b / ours["median_ns_berlin"]
    print(f"croniter median: UTC {med_u:.0f} ns, Europe/Berlin {med_b:.0f} ns per next")
    print(f"symbi is {ratio_u:.0f}x faster than croniter in UTC and {ratio_b:.0f}x in "
          f"Europe/Berlin (target >= 100x)")
    return 0 if ratio_u >= 100 and ratio_b >= 100 else 1


if __name__ == "__main__":
    sys.exit(main())
