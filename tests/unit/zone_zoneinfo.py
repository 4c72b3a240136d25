"""zone_zoneinfo.py - the reference side of the zone differential test
(test_cron_zoneinfo.c runs it): for every zone Python's zoneinfo knows, UTC
offsets at random instants from 1900 to 2400 and just before and after
each transition it finds in 2020-2040, one line `zone<TAB>epoch<TAB>offset`.
usage: zone_zoneinfo.py [SEED]"""
import random
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, available_timezones

LO, HI = -2208988800, 13569465600  # 1900 .. 2400


def offset(z, t):
    return int(datetime.fromtimestamp(t, timezone.utc).astimezone(z).utcoffset().total_seconds())


def main():
    rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 20261127)
    for name in sorted(available_timezones()):
        if name.startswith(("right/", "posix/")) or name in ("Factory", "localtime"):
            continue
        try:
            z = ZoneInfo(name)
        except Exception:
            continue
        points = [rng.randint(LO, HI) for _ in range(12)]
        # transitions in 2020-2040, found by bisection between weekly samples
        t, prev = 1577836800, None
        while t < 2208988800:
            o = offset(z, t)
            if prev is not None and o != prev[1]:
                a, b = prev[0], t
                while b - a > 1:
                    m = (a + b) // 2
                    if offset(z, m) == prev[1]:
                        a = m
                    else:
                        b = m
                points += [a, b]
            prev = (t, o)
            t += 7 * 86400
        for p in points:
            print(f"{name}\t{p}\t{offset(z, p)}")


if __name__ == "__main__":
    main()
