/* cmd_cron_herd.c - `symbi cron herd`: the seconds of the coming hours where
 * more runs would start together than the global limit, and the jitter. */
#include "cli/cli.h"
#include "cli/cli_out.h"
#include "symbi/config.h"
#include "symbi/cron.h"
#include "symbi/json.h"
#include "symbi/store.h"

#include <stdlib.h>
#include <string.h>

const char symbi_cli_cron_herd_usage[] =
    "usage: symbi cron herd [--hours N] [--threshold N] [--format text|json]\n"
    "  Looks at the fires of every active job in the next N hours (default 24, at\n"
    "  most 744), each start spread over its jitter window, and reports the seconds\n"
    "  where more than the threshold (default [scheduler] max_concurrent_jobs) would\n"
    "  start together, by expression, with the jitter that would spread them.\n";

static const struct symbi_cli_cmd herd_cmd = {
    "herd", symbi_cli_cmd_cron_herd, "the thundering-herd check", symbi_cli_cron_herd_usage};

static int print_text(const struct symbi_herd_report *r, const char *limit_note)
{
    char t1[SYMBI_TIME_STRLEN], t2[SYMBI_TIME_STRLEN];
    printf("Herd check from %s to %s: more than %d starts in one second%s\n",
           symbi_time_fmt(r->from, t1), symbi_time_fmt(r->to, t2), r->threshold, limit_note);
    if (r->seconds == 0) {
        printf("No herd: no second has more than %d starts.\n", r->threshold);
        return SYMBI_EXIT_OK;
    }
    printf("%lld second%s over the threshold, the first at %s, peak %.0f starts\n",
           (long long)r->seconds, r->seconds == 1 ? "" : "s", symbi_time_fmt(r->first_at, t1),
           r->peak);
    printf("%-24s %-16s %6s %8s %6s  %s\n", "EXPRESSION", "ZONE", "JOBS", "SECONDS", "PEAK",
           "SUGGESTED JITTER");
    for (size_t i = 0; i < r->n_groups; i++) {
        const struct symbi_herd_group *g = &r->groups[i];
        printf("%-24s %-16s %6d %8lld %6.0f  %llds\n", g->expr, g->zone, g->jobs,
               (long long)g->seconds, g->peak, (long long)g->suggested_jitter_s);
    }
    printf("Set `jitter` on the jobs of these expressions (or [scheduler] max_jitter_seconds)\n"
           "to at least the suggested value.\n");
    return SYMBI_EXIT_OK;
}

static int print_json(const struct symbi_herd_report *r)
{
    json_t *groups = json_array();
    for (size_t i = 0; i < r->n_groups; i++) {
        const struct symbi_herd_group *g = &r->groups[i];
        json_array_append_new(
            groups, json_pack("{s:s,s:s,s:i,s:I,s:f,s:o,s:I}", "expr", g->expr, "timezone", g->zone,
                              "jobs", g->jobs, "seconds", (json_int_t)g->seconds, "peak", g->peak,
                              "first_at", symbi_json_time(g->first_at), "suggested_jitter_seconds",
                              (json_int_t)g->suggested_jitter_s));
    }
    return symbi_cli_print_json(json_pack(
        "{s:o,s:o,s:i,s:I,s:f,s:o,s:o}", "from", symbi_json_time(r->from), "to",
        symbi_json_time(r->to), "threshold", r->threshold, "seconds", (json_int_t)r->seconds,
        "peak", r->peak, "first_at", symbi_json_time(r->first_at), "groups", groups));
}

int symbi_cli_cmd_cron_herd(struct symbi_cli *cli, int argc, char **argv)
{
    int hours = 24, threshold = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            return symbi_cli_usage(&herd_cmd, "unexpected '%s'", a);
        const char *v = argv[++i];
        if (strcmp(a, "--hours") == 0) {
            if (symbi_parse_int(v, 1, 744, &hours) != 0)
                return symbi_cli_usage(&herd_cmd, "--hours must be 1-744, not '%s'", v);
        } else if (strcmp(a, "--threshold") == 0) {
            if (symbi_parse_int(v, 1, 1000000, &threshold) != 0)
                return symbi_cli_usage(&herd_cmd, "--threshold must be 1-1000000, not '%s'", v);
        } else if (strcmp(a, "--format") == 0 &&
                   (strcmp(v, "text") == 0 || strcmp(v, "json") == 0)) {
            json = strcmp(v, "json") == 0;
        } else {
            return symbi_cli_usage(&herd_cmd, "bad option '%s %s'", a, v);
        }
    }
    struct symbi_config cfg;
    if (symbi_cli_load_config(cli, &cfg) != SYMBI_EXIT_OK)
        return SYMBI_EXIT_ERROR;
    const char *note = threshold == 0 ? " (max_concurrent_jobs)" : "";
    if (threshold == 0)
        threshold = cfg.max_concurrent_jobs;
    int64_t jitter = cfg.max_jitter_ms;
    symbi_config_cleanup(&cfg);
    struct symbi_store *st;
    if (symbi_cli_open_store(cli, &st) != SYMBI_EXIT_OK)
        return SYMBI_EXIT_ERROR;
    struct symbi_job_filter f = {.has_status = true, .status = SYMBI_JOB_ACTIVE};
    struct symbi_job *jobs = NULL;
    size_t n = 0;
    struct symbi_err err = {0};
    struct symbi_herd_report r;
    int rc = symbi_store_job_list(st, &f, &jobs, &n, &err);
    symbi_store_close(st);
    if (rc == 0)
        rc = symbi_cron_herd(jobs, n, jitter, symbi_now_wall_ms(), hours, threshold, &r, &err);
    symbi_job_list_free(jobs, n);
    if (rc != 0)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
    rc = json ? print_json(&r) : print_text(&r, note);
    symbi_herd_report_cleanup(&r);
    return rc;
}
