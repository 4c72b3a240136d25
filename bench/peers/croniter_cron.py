"""croniter_cron.py - times python3-croniter on the expressions and start
instants of bench_cron (read from bench/out/bench_cron.json, written by it
earlier in the same run): ns per next fire (median over the expressions, UTC
and Europe/Berlin) and parses per second; one JSON object on stdout."""
import json
import statistics
import sys
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from croniter import croniter

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


def time_next(expr, tz, instants):
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
    ours = json.loads(open(sys.argv[1]).read())
    instants = starts()
    berlin = ZoneInfo("Europe/Berlin")
    utc = [time_next(e["croniter"], timezone.utc, instants) for e in ours["expressions"]]
    ber = [time_next(e["croniter"], berlin, instants) for e in ours["expressions"]]
    now = datetime.now(timezone.utc)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter_ns()
        n = 0
        for _ in range(50):
            for e in ours["expressions"]:
                croniter(e["croniter"], now)
                n += 1
        best = min(best, (time.perf_counter_ns() - t0) / n)
    print(json.dumps({"ns_utc": statistics.median(utc), "ns_berlin": statistics.median(ber),
                      "parse_per_s": 1e9 / best}))


if __name__ == "__main__":
    main()
