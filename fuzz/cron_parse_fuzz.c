/* cron_parse_fuzz.c - libFuzzer target for the cron parser and the
 * next/previous search: any bytes as an expression, then, when it parses,
 * next and prev in UTC and in a DST zone from an instant taken from the
 * input, with their invariants checked (abort on a violation); and the
 * expression's English description. */
#include "symbi/cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int cond, const char *what, const char *expr)
{
    if (!cond) {
        fprintf(stderr, "invariant broken: %s for \"%s\"\n", what, expr);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the first 8 bytes (when there are more) choose the instant and options */
    uint64_t seed = 0;
    if (size > 8) {
        memcpy(&seed, data, 8);
        data += 8;
        size -= 8;
    }
    if (size > 400)
        size = 400;
    char expr[401];
    memcpy(expr, data, size);
    expr[size] = '\0';

    struct symbi_cron *c = NULL;
    struct symbi_err err = {0};
    int rc = symbi_cron_parse(expr, &c, &err);
    if (rc != 0) {
        check(c == NULL, "output set on failure", expr);
        check(rc < 0 && strncmp(err.msg, "cron: ", 6) == 0, "error message form", expr);
        check(strlen(err.msg) < sizeof err.msg - 1, "error message bound", expr);
        return 0;
    }
    /* instants from 1900 to 2300, whole or fractional seconds */
    int64_t span = 400LL * 366 * 86400 * 1000;
    int64_t t = -2208988800000LL + (int64_t)(seed % (uint64_t)span);
    static const char *zones[] = {"UTC", "Europe/Berlin", "Australia/Lord_Howe",
                                  "America/New_York"};
    const struct symbi_zone *z = NULL;
    if (symbi_zone_get(zones[(seed >> 58) & 3], &z, NULL) != 0)
        symbi_zone_get("UTC", &z, NULL);
    struct symbi_cron_opts o = {(enum symbi_dst_gap)((seed >> 60) & 1),
                                (enum symbi_dst_overlap)((seed >> 61) & 3),
                                t - (int64_t)(seed >> 40)}; /* an @every anchor */
    int64_t n, p, n2;
    if (symbi_cron_next(c, z, t, &o, &n) == 0) {
        check(n > t, "next after t", expr);
        check(n % 1000 == 0, "whole seconds", expr);
        /* nothing fires between t and n */
        if (symbi_cron_prev(c, z, n, &o, &p) == 0 && symbi_cron_next(c, z, p, &o, &n2) == 0)
            check(n2 == n && p < n, "prev/next consistency", expr);
        check(symbi_cron_next(c, z, n - 1, &o, &n2) == 0 && n2 == n, "next is stable", expr);
    }
    if (symbi_cron_prev(c, z, t, &o, &p) == 0) {
        check(p < t, "prev before t", expr);
        check(p % 1000 == 0, "whole seconds", expr);
    }
    symbi_cron_free(c);
    /* the English description (cron describe) of every expression that parses,
     * with its DST notes: bounded, never empty */
    struct symbi_cron_desc d;
    check(symbi_cron_describe(expr, symbi_zone_name(z), &o, t, &d, NULL) == 0, "describe", expr);
    check(d.text[0] != '\0' && strlen(d.text) < sizeof d.text - 1, "description bound", expr);
    check(d.n_notes <= SYMBI_CRON_DESC_NOTES, "notes bound", expr);
    return 0;
}
