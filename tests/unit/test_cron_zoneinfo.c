/* test_cron_zoneinfo.c - the zone differential test: for every zone of the
 * system's zoneinfo, UTC offsets at random instants from 1900 to 2400 and
 * around each 2020-2040 transition must equal Python's zoneinfo (an
 * independent TZif and footer-rule reader): tests/unit/zone_zoneinfo.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "symbi/core.h"
#include "symbi/cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_against_zoneinfo(void **state)
{
    (void)state;
    char cmd[256];
    const char *seed = getenv("CRON_DIFF_SEED");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/unit/zone_zoneinfo.py %s",
             seed != NULL ? seed : "");
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[512];
    int total = 0, bad = 0, zones = 0;
    char last[512] = "";
    while (fgets(line, sizeof line, f) != NULL) {
        char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        assert_non_null(tab2);
        *tab1 = *tab2 = '\0';
        long long t;
        int want;
        assert_int_equal(sscanf(tab1 + 1, "%lld", &t), 1);
        assert_int_equal(sscanf(tab2 + 1, "%d", &want), 1);
        if (strcmp(line, last) != 0) {
            zones++;
            snprintf(last, sizeof last, "%s", line);
        }
        total++;
        const struct symbi_zone *z;
        struct symbi_err err = {0};
        if (symbi_zone_get(line, &z, &err) != 0) {
            if (bad++ < 20)
                print_message("zone %s: %s\n", line, err.msg);
            continue;
        }
        int got = symbi_zone_offset(z, (int64_t)t * 1000);
        if (got != want && bad++ < 20)
            print_message("zone %s at %lld: offset %d, zoneinfo %d\n", line, t, got, want);
    }
    assert_int_equal(pclose(f), 0);
    print_message("%d zones, %d instants, %d disagreements\n", zones, total, bad);
    assert_true(zones > 300);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_zoneinfo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
