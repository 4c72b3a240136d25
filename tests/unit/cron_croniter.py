"""cron_croniter.py - the reference side of the differential test against
python3-croniter (test_cron_croniter.c runs it). Prints, for N random
expressions in the syntax symbi and croniter share, one line
`expr<TAB>start<TAB>next1 next2<TAB>flag` (UTC epoch seconds), computed by
croniter; flag M marks a day-of-month list that reaches days 29-31.

It steers around the intended differences documented in docs/cron.md:
croniter writes last-Friday as `L5` (symbi `5L`) and puts the seconds field
last (symbi first); the day-of-month/day-of-week OR rule is the Vixie one
(croniter's day_or=False is passed when a day field starts with `*`);
croniter ORs nothing when a day field spells out its full range, ignores
day-of-month next to `#`/`L` weekdays, and mishandles day-of-week 7 in
6-field form, so those are not generated.
usage: cron_croniter.py N [SEED]"""
import random
import sys

from croniter import croniter, CroniterBadDateError

MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def value(rng, lo, hi, names=None, base=0):
    v = rng.randint(lo, hi)
    if names and rng.random() < 0.3 and v - base < len(names):
        return v, names[v - base].upper() if rng.random() < 0.5 else names[v - base]
    return v, str(v)


def item(rng, lo, hi, names=None, base=0):
    r = rng.random()
    size = hi - lo + 1
    if r < 0.35:
        return value(rng, lo, hi, names, base)[1]
    if r < 0.6:
        a, at = value(rng, lo, hi, names, base)
        b, bt = value(rng, a, hi, names, base)
        if rng.random() < 0.3:
            return f"{at}-{bt}/{rng.randint(1, max(1, size // 2))}"
        return f"{at}-{bt}"
    if r < 0.8:
        return f"*/{rng.randint(1, max(1, size // 2))}"
    if r < 0.9:
        return f"{rng.randint(lo, hi)}/{rng.randint(1, max(1, size // 2))}"
    return "*"


def field(rng, lo, hi, names=None, base=0, star_bias=0.3):
    if rng.random() < star_bias:
        return "*"
    n = 1 if rng.random() < 0.7 else rng.randint(2, 3)
    items = [item(rng, lo, hi, names, base) for _ in range(n)]
    if "*" in items and len(items) > 1:
        items = [i for i in items if i != "*"] or ["*"]
    return ",".join(items)


def expand(text, lo, hi, names=None, base=0, dow=False):
    """The set a field spells (for steering only)."""
    out = set()
    for it in text.split(","):
        step, slash = 1, "/" in it
        if slash:
            it, s = it.split("/")
            step = int(s)
        if it == "*":
            a, b = lo, hi
        else:
            parts = it.split("-")
            conv = []
            for p in parts:
                p = p.lower()
                conv.append(names.index(p) + base if names and p in names else int(p))
            a = conv[0]
            b = conv[1] if len(conv) > 1 else (hi if slash else a)
            if dow and b == 0 and a > 0:
                b = 7  # FRI-SUN
        out.update(range(a, b + 1, step))
    if dow:
        out = {0 if v == 7 else v for v in out}
    return out


MACROS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]


def expression(rng):
    if rng.random() < 0.02:
        m = rng.choice(MACROS)
        return m, m, True, "-"
    six = rng.random() < 0.15
    sec = field(rng, 0, 59, star_bias=0.2) if six else None
    minute = field(rng, 0, 59, star_bias=0.1)
    hour = field(rng, 0, 23)
    dom = field(rng, 1, 31, star_bias=0.5)
    month = field(rng, 1, 12, MONTHS, 1, star_bias=0.6)
    dow_hi = 6 if six else 7
    dow = field(rng, 0, dow_hi, DAYS, 0, star_bias=0.5)
    special = None
    r = rng.random()
    if r < 0.06:
        dom = "L" if rng.random() < 0.5 else f"{rng.randint(1, 28)},L"
    elif r < 0.12:
        dom = "*"
        d, n = rng.randint(0, 6), rng.randint(1, 5)
        dow, special = f"{d}#{n}", f"{d}#{n}"
    elif r < 0.16:
        dom = "*"
        d = rng.randint(0, 6)
        dow, special = f"{d}L", f"L{d}"
    dom_star = dom.startswith("*")
    dow_star = dow.startswith("*")
    if not dom_star and not dow_star and special is None:
        # croniter treats a spelled-out full range as "*" (no OR): avoid
        if dom != "L" and "L" not in dom and expand(dom, 1, 31) == set(range(1, 32)):
            return None
        if expand(dow, 0, 7, DAYS, 0, dow=True) == set(range(7)):
            return None
    ours = " ".join(x for x in ([sec] if six else []) + [minute, hour, dom, month, dow])
    cdow = dow if special is None else special
    if six and special is None and dow != "*":
        # croniter keeps day-of-week 7 as 7 (never Sunday) in 6-field form:
        # hand it the explicit set
        cdow = ",".join(str(v) for v in sorted(expand(dow, 0, 7, DAYS, 0, dow=True)))
    theirs = " ".join([minute, hour, dom, month, cdow] + ([sec] if six else []))
    # croniter's month-end bug: from a day past which the list holds only
    # days the month lacks (29-31), it jumps into the next month and over
    # its first days; such lines are flagged M so the test can tell it apart
    flag = "-"
    if "L" not in dom and max(expand(dom, 1, 31)) >= 29:
        flag = "M"
    return ours, theirs, not (dom_star or dow_star), flag


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 20261127)
    done = 0
    while done < n:
        e = expression(rng)
        if e is None:
            continue
        ours, theirs, day_or, flag = e
        start = rng.randint(631152000, 4102444800)  # 1990 .. 2100
        if rng.random() < 0.3:
            start -= start % 60
        try:
            it = croniter(theirs, start, day_or=day_or)
            a = int(it.get_next(float))
            b = int(it.get_next(float))
        except CroniterBadDateError:
            continue  # nothing within croniter's 50-year horizon
        print(f"{ours}\t{start}\t{a} {b}\t{flag}")
        done += 1


if __name__ == "__main__":
    main()
