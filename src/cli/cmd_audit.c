/* cmd_audit.c - `symbi audit query`: the audit trail (SPEC §12) filtered by
 * event type, time range and job, newest first, as a table, JSON or CSV. */
#include "cli/cli_out.h"

#include "symbi/json.h"
#include "symbi/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_DEFAULT_LIMIT 100
#define AUDIT_MAX_LIMIT     1000000

static const char audit_query_usage[] =
    "usage: symbi audit query [--type T] [--since T] [--until T] [--job J] [--limit N]\n"
    "                         [--format table|json|csv] [--local]\n"
    "  Lists audit events, newest first.\n"
    "  --type T     one event type: CronJobCreated, CronJobUpdated, CronJobDeleted,\n"
    "               CronJobPaused, CronJobResumed, CronJobReset, CronJobExecuted,\n"
    "               CronJobFailed, CronJobDeadLettered, CronRunApproved, CronRunDenied,\n"
    "               PolicyDenied, AgentPinVerificationFailed, AgentToolCalled,\n"
    "               CronJobBackfilled, ApiAccessDenied\n"
    "  --since T    events at or after T: RFC 3339, a date (2026-03-29), or a duration\n"
    "               meaning that long ago (90m, 2d)\n"
    "  --until T    events before T (same forms)\n"
    "  --job J      events of one job: id, id prefix or name (also of deleted jobs)\n"
    "  --limit N    at most N events (default 100)\n"
    "  --format F   table (default), json or csv\n"
    "  --local      show times in local time instead of UTC (table)\n";

static const char *const event_types[] = {
    "CronJobCreated",
    "CronJobUpdated",
    "CronJobDeleted",
    "CronJobPaused",
    "CronJobResumed",
    "CronJobReset",
    "CronJobExecuted",
    "CronJobFailed",
    "CronJobDeadLettered",
    "CronRunApproved",
    "CronRunDenied",
    "PolicyDenied",
    "AgentPinVerificationFailed",
    "AgentToolCalled",
    "CronJobBackfilled",
    "ApiAccessDenied",
};

static bool known_type(const char *t)
{
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(event_types); i++)
        if (strcmp(event_types[i], t) == 0)
            return true;
    return false;
}

static int print_events(const struct symbi_audit_event *ev, size_t n, enum symbi_cli_format fmt,
                        bool local)
{
    if (fmt == SYMBI_FMT_JSON) {
        struct symbi_cli_json_stream js;
        symbi_cli_json_begin(&js);
        for (size_t i = 0; i < n; i++)
            symbi_cli_json_item(&js, symbi_audit_event_to_json(&ev[i]));
        return symbi_cli_json_end(&js);
    }
    static const char *const head[] = {"TIME", "TYPE", "JOB", "RUN", "ACTOR", "DETAILS"};
    static const char *const csv_head[] = {"id",       "at",     "type",  "job_id",
                                           "job_name", "run_id", "actor", "details"};
    struct symbi_cli_table t;
    if (fmt == SYMBI_FMT_CSV)
        symbi_cli_table_init(&t, SYMBI_ARRAY_LEN(csv_head), csv_head);
    else
        symbi_cli_table_init(&t, SYMBI_ARRAY_LEN(head), head);
    for (size_t i = 0; i < n; i++) {
        const struct symbi_audit_event *e = &ev[i];
        char at[40], id[24], run[9];
        if (fmt == SYMBI_FMT_CSV) {
            snprintf(id, sizeof id, "%lld", (long long)e->id);
            symbi_time_fmt(e->at, at);
            const char *row[] = {id,          at,        e->type,  e->job_id,
                                 e->job_name, e->run_id, e->actor, e->details};
            symbi_cli_table_add(&t, row);
        } else {
            snprintf(run, sizeof run, "%.8s", e->run_id);
            const char *row[] = {symbi_cli_time(e->at, local, at),
                                 e->type,
                                 e->job_name ? e->job_name : e->job_id,
                                 run[0] ? run : "-",
                                 e->actor ? e->actor : "-",
                                 e->details ? e->details : ""};
            symbi_cli_table_add(&t, row);
        }
    }
    if (fmt == SYMBI_FMT_CSV)
        symbi_cli_table_csv(&t, stdout);
    else if (n == 0)
        puts("No events.");
    else
        symbi_cli_table_print(&t, stdout);
    symbi_cli_table_cleanup(&t);
    return SYMBI_EXIT_OK;
}

static int audit_query(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct symbi_cli_cmd self = {"query", NULL, "", audit_query_usage};
    static const struct option opts[] = {
        {"type", required_argument, NULL, 't'},  {"since", required_argument, NULL, 's'},
        {"until", required_argument, NULL, 'u'}, {"job", required_argument, NULL, 'j'},
        {"limit", required_argument, NULL, 'n'}, {"format", required_argument, NULL, 'f'},
        {"local", no_argument, NULL, 'l'},       {NULL, 0, NULL, 0},
    };
    struct symbi_audit_filter f = {NULL, NULL, SYMBI_TIME_NONE, SYMBI_TIME_NONE,
                                   AUDIT_DEFAULT_LIMIT};
    enum symbi_cli_format fmt = SYMBI_FMT_TABLE;
    bool local = false;
    int64_t now = symbi_now_wall_ms();
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (!known_type(optarg))
                return symbi_cli_usage(&self, "unknown event type '%s'", optarg);
            f.type = optarg;
            break;
        case 's':
        case 'u':
            if (symbi_cli_time_arg(optarg, now, c == 's' ? &f.since : &f.until) != 0)
                return symbi_cli_usage(&self,
                                       "--%s: '%s' is not a time (RFC 3339, a date, or a "
                                       "duration ago like 2h)",
                                       c == 's' ? "since" : "until", optarg);
            break;
        case 'j':
            f.job = optarg;
            break;
        case 'n':
            if (symbi_parse_i64(optarg, 1, AUDIT_MAX_LIMIT, &f.limit) != 0)
                return symbi_cli_usage(&self, "--limit must be 1-%d, not '%s'", AUDIT_MAX_LIMIT,
                                       optarg);
            break;
        case 'f':
            if (symbi_cli_format_parse(optarg, &fmt) != 0)
                return symbi_cli_usage(&self, "unknown format '%s' (table, json, csv)", optarg);
            break;
        case 'l':
            local = true;
            break;
        default:
            return symbi_cli_bad_option(&self, argc, argv);
        }
    }
    if (optind < argc)
        return symbi_cli_usage(&self, "unexpected argument '%s'", argv[optind]);
    if (f.since != SYMBI_TIME_NONE && f.until != SYMBI_TIME_NONE && f.since >= f.until)
        return symbi_cli_usage(&self, "--since must be before --until");
    struct symbi_store *st = NULL;
    int rc = symbi_cli_open_store(cli, &st);
    if (rc != 0)
        return rc;
    /* a live job's id prefix or name becomes its id; anything else (a
     * deleted job's name or id) is matched as given */
    struct symbi_job job;
    struct symbi_err err = {0};
    bool resolved = false;
    if (f.job != NULL) {
        int jrc = symbi_store_job_get(st, f.job, &job, &err);
        if (jrc == SYMBI_EAMBIGUOUS) {
            symbi_store_close(st);
            return symbi_cli_store_fail(&err);
        }
        if (jrc == 0) {
            resolved = true;
            f.job = job.id;
        }
    }
    struct symbi_audit_event *ev = NULL;
    size_t n = 0;
    if (symbi_store_audit_query(st, &f, &ev, &n, &err) != 0)
        rc = symbi_cli_store_fail(&err);
    else
        rc = print_events(ev, n, fmt, local);
    symbi_audit_list_free(ev, n);
    if (resolved)
        symbi_job_cleanup(&job);
    symbi_store_close(st);
    return rc;
}

static const struct symbi_cli_cmd audit_commands[] = {
    {"query", audit_query, "list audit events (type, time range, job)", audit_query_usage},
};

int symbi_cli_cmd_audit(struct symbi_cli *cli, int argc, char **argv)
{
    return symbi_cli_dispatch(cli, audit_commands, SYMBI_ARRAY_LEN(audit_commands), "symbi audit",
                              argc - 1, argv + 1);
}
