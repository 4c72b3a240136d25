/* tzif_parse_fuzz.c - libFuzzer target for the TZif reader and the POSIX TZ
 * footer rule (zone files are read from $TZDIR, a trust boundary): any
 * bytes as a zone file, then offset periods and a DST-aware cron search
 * through the zone, with their invariants checked (abort on a violation). */
#include "cron/cron_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct symbi_zone *z;
    if (symbi_zone_from_tzif(data, size, &z) != 0)
        return 0;
    /* periods hold their instant and have sane offsets, 1900..2500 */
    static const int64_t probes[] = {
        -2208988800LL, 0, 1000000000LL, 1774746000LL, 4102444800LL, 7258118400LL, 16725225600LL};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        struct zone_period p;
        symbi_zone_period(z, probes[i], &p);
        check(p.start <= probes[i] && probes[i] < p.end, "period holds t");
        check(p.off > -26 * 3600 && p.off < 26 * 3600, "sane offset");
        if (p.end != INT64_MAX) {
            struct zone_period q;
            symbi_zone_period(z, p.end, &q);
            check(q.end > p.end, "periods advance");
        }
    }
    static const char *exprs[] = {"30 2 * * *", "*/20 * * * *", "0 0 29 2 *"};
    for (size_t k = 0; k < sizeof exprs / sizeof exprs[0]; k++) {
        struct symbi_cron *c;
        if (symbi_cron_parse(exprs[k], &c, NULL) != 0)
            abort();
        for (int ov = 0; ov < 4; ov++) {
            struct symbi_cron_opts o = {(enum symbi_dst_gap)(ov & 1), (enum symbi_dst_overlap)ov,
                                        SYMBI_TIME_NONE};
            int64_t t = 1774700000000LL, n, p;
            for (int i = 0; i < 4; i++) {
                if (symbi_cron_next(c, z, t, &o, &n) != 0)
                    break;
                check(n > t, "next after t");
                check(symbi_cron_prev(c, z, n, &o, &p) == 0 && p < n, "prev before next");
                t = n;
            }
        }
        symbi_cron_free(c);
    }
    symbi_zone_release(z);
    return 0;
}
