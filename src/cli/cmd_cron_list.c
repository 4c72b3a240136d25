/* cmd_cron_list.c - `symbi cron list`: the jobs in the store, filtered by
 * status or agent, as a table, JSON (the §9.1 job shape) or CSV. */
#include "cli/cli_out.h"

#include "symbi/json.h"
#include "symbi/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

const char symbi_cli_cron_list_usage[] =
    "usage: symbi cron list [--status S] [--agent A] [--format table|json|csv] [--local]\n"
    "  Lists the jobs in the store, by name.\n"
    "  --status S    only jobs in status S (active, paused, completed, failed, dead_letter)\n"
    "  --agent A     only jobs that run agent A\n"
    "  --format F    table (default), json (the API's job objects) or csv\n"
    "  --local       show times in local time instead of UTC (table)\n";

static const struct symbi_cli_cmd self = {"list", NULL, "", symbi_cli_cron_list_usage};

static int print_jobs(const struct symbi_job *jobs, size_t n, enum symbi_cli_format fmt, bool local)
{
    if (fmt == SYMBI_FMT_JSON) {
        struct symbi_cli_json_stream js;
        symbi_cli_json_begin(&js);
        for (size_t i = 0; i < n; i++)
            symbi_cli_json_item(&js, symbi_job_to_json(&jobs[i], true));
        return symbi_cli_json_end(&js);
    }
    static const char *const table_head[] = {"ID",       "NAME",    "AGENT",    "SCHEDULE",
                                             "TIMEZONE", "STATUS",  "NEXT RUN", "LAST RUN",
                                             "RUNS",     "FAILURES"};
    static const char *const csv_head[] = {"id",       "name",      "agent_id",     "cron_expr",
                                           "at",       "timezone",  "status",       "next_run",
                                           "last_run", "run_count", "failure_count"};
    struct symbi_cli_table t;
    if (fmt == SYMBI_FMT_CSV)
        symbi_cli_table_init(&t, SYMBI_ARRAY_LEN(csv_head), csv_head);
    else
        symbi_cli_table_init(&t, SYMBI_ARRAY_LEN(table_head), table_head);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct symbi_job *j = &jobs[i];
        char id[9], sched[64], next[40], last[40], runs[24], fails[24], at[40];
        snprintf(runs, sizeof runs, "%lld", (long long)j->run_count);
        snprintf(fails, sizeof fails, "%lld", (long long)j->failure_count);
        if (fmt == SYMBI_FMT_CSV) {
            symbi_time_fmt(j->at, at);
            symbi_time_fmt(j->next_run, next);
            symbi_time_fmt(j->last_run, last);
            const char *row[] = {j->id,
                                 j->name,
                                 j->agent,
                                 j->cron_expr,
                                 at,
                                 j->timezone,
                                 symbi_job_status_name(j->status),
                                 next,
                                 last,
                                 runs,
                                 fails};
            rc = symbi_cli_table_add(&t, row);
        } else {
            snprintf(id, sizeof id, "%.8s", j->id);
            const char *row[] = {id,
                                 j->name,
                                 j->agent ? j->agent : "-",
                                 symbi_cli_job_schedule(j, sched, sizeof sched),
                                 j->timezone ? j->timezone : "UTC",
                                 symbi_job_status_name(j->status),
                                 symbi_cli_time(j->next_run, local, next),
                                 symbi_cli_time(j->last_run, local, last),
                                 runs,
                                 fails};
            rc = symbi_cli_table_add(&t, row);
        }
    }
    if (rc != 0) {
        symbi_cli_table_cleanup(&t);
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory");
    }
    if (fmt == SYMBI_FMT_CSV)
        symbi_cli_table_csv(&t, stdout);
    else if (n == 0)
        puts("No jobs.");
    else
        symbi_cli_table_print(&t, stdout);
    symbi_cli_table_cleanup(&t);
    return SYMBI_EXIT_OK;
}

int symbi_cli_cmd_cron_list(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"status", required_argument, NULL, 's'},
        {"agent", required_argument, NULL, 'a'},
        {"format", required_argument, NULL, 'f'},
        {"local", no_argument, NULL, 'l'},
        {NULL, 0, NULL, 0},
    };
    struct symbi_job_filter f = {0};
    enum symbi_cli_format fmt = SYMBI_FMT_TABLE;
    bool local = false;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (symbi_job_status_parse(optarg, &f.status) != 0)
                return symbi_cli_usage(&self,
                                       "unknown status '%s' (active, paused, completed, failed, "
                                       "dead_letter)",
                                       optarg);
            f.has_status = true;
            break;
        case 'a':
            f.agent = optarg;
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
    struct symbi_store *st = NULL;
    int rc = symbi_cli_open_store(cli, &st);
    if (rc != 0)
        return rc;
    struct symbi_job *jobs = NULL;
    size_t n = 0;
    struct symbi_err err = {0};
    if (symbi_store_job_list(st, &f, &jobs, &n, &err) != 0)
        rc = symbi_cli_store_fail(&err);
    else
        rc = print_jobs(jobs, n, fmt, local);
    symbi_job_list_free(jobs, n);
    symbi_store_close(st);
    return rc;
}
