/* cmd_cron_status.c - `symbi cron status <job>` (the job's state and its
 * latest runs, optionally redrawn every few seconds) and `symbi cron
 * history <job>` (its runs, newest first, as a table, JSON or CSV). */
#include "cli/cli_out.h"
#include "symbi/cron.h"

#include "symbi/json.h"
#include "symbi/store.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HISTORY_DEFAULT     20
#define STATUS_RUNS_DEFAULT 5
#define LIST_MAX            100000
#define WATCH_DEFAULT_MS    5000

const char symbi_cli_cron_status_usage[] =
    "usage: symbi cron status <job> [--history N] [--watch] [--interval D] [--format table|json]\n"
    "                         [--local]\n"
    "  Shows a job's schedule, status, next and last run, counters and latest runs.\n"
    "  --history N   how many recent runs to show (default 5, 0 for none)\n"
    "  --watch       redraw until interrupted (Ctrl-C)\n"
    "  --interval D  time between redraws with --watch (default 5s)\n"
    "  --format F    table (default) or json ({\"job\": ..., \"runs\": [...]})\n"
    "  --local       show times in local time instead of UTC\n";

const char symbi_cli_cron_history_usage[] =
    "usage: symbi cron history <job> [--limit N] [--status S] [--format table|json|csv]\n"
    "                          [--local]\n"
    "       symbi cron history --all [--limit N] [--status S] [--format ...]\n"
    "  Lists a job's runs (--all: every job's), newest first.\n"
    "  --limit N     at most N runs (default 20)\n"
    "  --status S    only runs in status S (queued, pending_approval, running, succeeded,\n"
    "                failed, timed_out, denied, skipped, missed, interrupted)\n"
    "  --format F    table (default), json (the API's run objects) or csv\n"
    "  --local       show times in local time instead of UTC (table)\n";

/* "ok/total" of a run's delivery receipts; "-" when it has none. */
static const char *delivered(const struct symbi_run *r, char out[24])
{
    json_t *a = symbi_json_parse_field(r->deliveries);
    size_t n = json_is_array(a) ? json_array_size(a) : 0, ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += json_is_true(json_object_get(json_array_get(a, i), "ok"));
    json_decref(a);
    if (n == 0)
        return "-";
    snprintf(out, 24, "%zu/%zu", ok, n);
    return out;
}

static void runs_table(const struct symbi_run *runs, size_t n, enum symbi_cli_format fmt,
                       bool local, FILE *out)
{
    static const char *const head[] = {"RUN",     "SCHEDULED", "TRIGGER", "ATTEMPT",   "STATUS",
                                       "STARTED", "DURATION",  "ITER",    "DELIVERED", "ERROR"};
    static const char *const csv_head[] = {
        "id",        "job_id",  "job_name",      "trigger",     "scheduled_at",
        "status",    "attempt", "started_at",    "finished_at", "execution_time_ms",
        "exit_code", "node",    "error_message", "iterations",  "deliveries"};
    struct symbi_cli_table t;
    if (fmt == SYMBI_FMT_CSV)
        symbi_cli_table_init(&t, SYMBI_ARRAY_LEN(csv_head), csv_head);
    else
        symbi_cli_table_init(&t, SYMBI_ARRAY_LEN(head), head);
    for (size_t i = 0; i < n; i++) {
        const struct symbi_run *r = &runs[i];
        char id[9], sched[40], started[40], finished[40], dur[32], attempt[16], ms[24], code[16];
        char iter[16], dlv[24];
        snprintf(attempt, sizeof attempt, "%d", r->attempt);
        snprintf(iter, sizeof iter, "%d", r->iterations);
        if (fmt == SYMBI_FMT_CSV) {
            snprintf(ms, sizeof ms, "%lld", (long long)r->execution_time_ms);
            snprintf(code, sizeof code, "%d", r->exit_code);
            symbi_time_fmt(r->scheduled_at, sched);
            symbi_time_fmt(r->started_at, started);
            symbi_time_fmt(r->finished_at, finished);
            const char *row[] = {r->id,
                                 r->job_id,
                                 r->job_name,
                                 symbi_trigger_name(r->trigger),
                                 sched,
                                 symbi_run_status_name(r->status),
                                 attempt,
                                 started,
                                 finished,
                                 r->execution_time_ms >= 0 ? ms : "",
                                 r->has_exit_code ? code : "",
                                 r->node,
                                 r->error_message,
                                 iter,
                                 r->deliveries};
            symbi_cli_table_add(&t, row);
        } else {
            char err[64] = "";
            if (r->error_message != NULL)
                snprintf(err, sizeof err, "%.60s%s", r->error_message,
                         strlen(r->error_message) > 60 ? "..." : "");
            snprintf(id, sizeof id, "%.8s", r->id);
            const char *row[] = {id,
                                 symbi_cli_time(r->scheduled_at, local, sched),
                                 symbi_trigger_name(r->trigger),
                                 attempt,
                                 symbi_run_status_name(r->status),
                                 symbi_cli_time(r->started_at, local, started),
                                 symbi_cli_duration(r->execution_time_ms, dur),
                                 r->iterations > 0 ? iter : "-",
                                 delivered(r, dlv),
                                 err};
            symbi_cli_table_add(&t, row);
        }
    }
    if (fmt == SYMBI_FMT_CSV)
        symbi_cli_table_csv(&t, out);
    else if (n == 0)
        fputs("No runs.\n", out);
    else
        symbi_cli_table_print(&t, out);
    symbi_cli_table_cleanup(&t);
}

static json_t *runs_json(const struct symbi_run *runs, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        if (json_array_append_new(arr, symbi_run_to_json(&runs[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static int load_runs(struct symbi_store *st, const char *job_id, bool has_status,
                     enum symbi_run_status status, int64_t limit, struct symbi_run **runs,
                     size_t *n)
{
    struct symbi_run_filter f = {.job_id = job_id,
                                 .has_status = has_status,
                                 .status = status,
                                 .due_before = SYMBI_TIME_NONE,
                                 .limit = limit};
    struct symbi_err err = {0};
    *runs = NULL;
    *n = 0;
    if (limit == 0)
        return 0;
    if (symbi_store_run_list(st, &f, runs, n, &err) != 0)
        return symbi_cli_store_fail(&err);
    return 0;
}

/* The receipts of the newest run that has some, one line per channel. */
static void print_last_delivery(const struct symbi_run *runs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *a = symbi_json_parse_field(runs[i].deliveries);
        if (!json_is_array(a) || json_array_size(a) == 0) {
            json_decref(a);
            continue;
        }
        printf("Last delivery:   run %.8s\n", runs[i].id);
        size_t k;
        json_t *r;
        json_array_foreach(a, k, r)
        {
            const char *ch = json_string_value(json_object_get(r, "channel"));
            const char *e = json_string_value(json_object_get(r, "error"));
            if (json_is_true(json_object_get(r, "ok")))
                printf("  %-14s ok\n", ch ? ch : "?");
            else
                printf("  %-14s failed: %s\n", ch ? ch : "?", e ? e : "-");
        }
        json_decref(a);
        return;
    }
}

static void print_status(const struct symbi_job *j, const struct symbi_run *runs, size_t n,
                         int64_t history, bool local)
{
    char sched[64], t1[40], t2[40], d[32];
    printf("Job:             %s (%s)\n", j->name, j->id);
    printf("Agent:           %s\n", j->agent ? j->agent : "-");
    printf("Schedule:        %s\n", symbi_cli_job_schedule(j, sched, sizeof sched));
    printf("Timezone:        %s\n", j->timezone ? j->timezone : "UTC");
    if (j->cron_expr != NULL) {
        struct symbi_cron_desc dd;
        struct symbi_cron_opts o = {j->dst_gap, j->dst_overlap, SYMBI_TIME_NONE};
        if (symbi_cron_describe(j->cron_expr, j->timezone, &o, symbi_now_wall_ms(), &dd, NULL) ==
            0) {
            printf("Description:     %s\n", dd.text);
            for (size_t i = 0; i < dd.n_notes; i++)
                printf("DST:             %s\n", dd.notes[i]);
        }
    }
    printf("Status:          %s\n", symbi_job_status_name(j->status));
    printf("Next run:        %s\n", symbi_cli_time(j->next_run, local, t1));
    printf("Last run:        %s\n", symbi_cli_time(j->last_run, local, t1));
    printf("Runs:            %lld\n", (long long)j->run_count);
    printf("Failures:        %lld consecutive", (long long)j->failure_count);
    if (j->max_retries >= 0)
        printf(" (dead letter at %d)\n", j->max_retries);
    else
        printf(" (dead letter at the configured default)\n");
    printf("Session mode:    %s\n", symbi_session_mode_name(j->session_mode));
    printf("Delivery:        %s\n", j->delivery ? j->delivery : "-");
    print_last_delivery(runs, n);
    printf("Max concurrent:  %d\n", j->max_concurrent);
    if (j->jitter_ms >= 0)
        printf("Jitter:          %s\n", symbi_duration_fmt(j->jitter_ms, d));
    printf("Catch-up:        %s\n", symbi_catch_up_name(j->catch_up));
    printf("Source:          %s\n", j->source ? j->source : "-");
    printf("Created:         %s\n", symbi_cli_time(j->created_at, local, t1));
    printf("Updated:         %s\n", symbi_cli_time(j->updated_at, local, t2));
    if (history > 0) {
        printf("\nRecent runs:\n");
        runs_table(runs, n, SYMBI_FMT_TABLE, local, stdout);
    }
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int symbi_cli_cmd_cron_status(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct symbi_cli_cmd self = {"status", NULL, "", symbi_cli_cron_status_usage};
    static const struct option opts[] = {
        {"history", required_argument, NULL, 'h'},  {"watch", no_argument, NULL, 'w'},
        {"interval", required_argument, NULL, 'i'}, {"format", required_argument, NULL, 'f'},
        {"local", no_argument, NULL, 'l'},          {NULL, 0, NULL, 0},
    };
    int64_t history = STATUS_RUNS_DEFAULT, interval = WATCH_DEFAULT_MS;
    bool watch = false, local = false;
    enum symbi_cli_format fmt = SYMBI_FMT_TABLE;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            if (symbi_parse_i64(optarg, 0, LIST_MAX, &history) != 0)
                return symbi_cli_usage(&self, "--history must be 0-%d, not '%s'", LIST_MAX, optarg);
            break;
        case 'w':
            watch = true;
            break;
        case 'i':
            if (symbi_parse_duration_ms(optarg, &interval) != 0 || interval < 100)
                return symbi_cli_usage(&self, "--interval must be a duration of 100ms or more");
            break;
        case 'f':
            if (symbi_cli_format_parse(optarg, &fmt) != 0 || fmt == SYMBI_FMT_CSV)
                return symbi_cli_usage(&self, "unknown format '%s' (table, json)", optarg);
            break;
        case 'l':
            local = true;
            break;
        default:
            return symbi_cli_bad_option(&self, argc, argv);
        }
    }
    if (argc - optind != 1)
        return symbi_cli_usage(&self, argc - optind == 0 ? "which job?" : "give one job");
    const char *ref = argv[optind];
    struct symbi_store *st = NULL;
    int rc = symbi_cli_open_store(cli, &st);
    if (rc != 0)
        return rc;
    bool tty = isatty(STDOUT_FILENO) != 0;
    for (;;) {
        struct symbi_job job;
        struct symbi_err err = {0};
        if (symbi_store_job_get(st, ref, &job, &err) != 0) {
            rc = symbi_cli_store_fail(&err);
            break;
        }
        struct symbi_run *runs = NULL;
        size_t n = 0;
        rc = load_runs(st, job.id, false, SYMBI_RUN_QUEUED, history, &runs, &n);
        if (rc == 0) {
            if (watch && tty && fmt == SYMBI_FMT_TABLE)
                fputs("\033[H\033[2J", stdout);
            if (fmt == SYMBI_FMT_JSON) {
                json_t *o = json_object();
                if (o != NULL) {
                    json_object_set_new(o, "job", symbi_job_to_json(&job, true));
                    json_object_set_new(o, "runs", runs_json(runs, n));
                }
                rc = symbi_cli_print_json(o);
            } else {
                if (watch) {
                    char t[40];
                    printf("symbi cron status %s  (every %llds; Ctrl-C to stop)  %s\n\n", ref,
                           (long long)(interval / 1000),
                           symbi_cli_time(symbi_now_wall_ms(), local, t));
                }
                print_status(&job, runs, n, history, local);
            }
            fflush(stdout);
        }
        symbi_run_list_free(runs, n);
        symbi_job_cleanup(&job);
        if (rc != 0 || !watch)
            break;
        sleep_ms(interval);
    }
    symbi_store_close(st);
    return rc;
}

int symbi_cli_cmd_cron_history(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct symbi_cli_cmd self = {"history", NULL, "", symbi_cli_cron_history_usage};
    static const struct option opts[] = {
        {"limit", required_argument, NULL, 'n'},  {"status", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'f'}, {"local", no_argument, NULL, 'l'},
        {"all", no_argument, NULL, 'a'},          {NULL, 0, NULL, 0},
    };
    int64_t limit = HISTORY_DEFAULT;
    bool has_status = false, local = false, all = false;
    enum symbi_run_status status = SYMBI_RUN_QUEUED;
    enum symbi_cli_format fmt = SYMBI_FMT_TABLE;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (symbi_parse_i64(optarg, 1, LIST_MAX, &limit) != 0)
                return symbi_cli_usage(&self, "--limit must be 1-%d, not '%s'", LIST_MAX, optarg);
            break;
        case 's':
            if (symbi_run_status_parse(optarg, &status) != 0)
                return symbi_cli_usage(&self, "unknown run status '%s'", optarg);
            has_status = true;
            break;
        case 'f':
            if (symbi_cli_format_parse(optarg, &fmt) != 0)
                return symbi_cli_usage(&self, "unknown format '%s' (table, json, csv)", optarg);
            break;
        case 'l':
            local = true;
            break;
        case 'a':
            all = true;
            break;
        default:
            return symbi_cli_bad_option(&self, argc, argv);
        }
    }
    if (all && argc - optind != 0)
        return symbi_cli_usage(&self, "--all takes no job");
    if (!all && argc - optind != 1)
        return symbi_cli_usage(&self, argc - optind == 0 ? "which job?" : "give one job");
    struct symbi_store *st = NULL;
    int rc = symbi_cli_open_store(cli, &st);
    if (rc != 0)
        return rc;
    struct symbi_job job;
    symbi_job_init(&job);
    struct symbi_err err = {0};
    if (!all && symbi_store_job_get(st, argv[optind], &job, &err) != 0) {
        rc = symbi_cli_store_fail(&err);
        symbi_store_close(st);
        return rc;
    }
    struct symbi_run *runs = NULL;
    size_t n = 0;
    rc = load_runs(st, all ? NULL : job.id, has_status, status, limit, &runs, &n);
    if (rc == 0) {
        if (fmt == SYMBI_FMT_JSON) {
            struct symbi_cli_json_stream js;
            symbi_cli_json_begin(&js);
            for (size_t i = 0; i < n; i++)
                symbi_cli_json_item(&js, symbi_run_to_json(&runs[i]));
            rc = symbi_cli_json_end(&js);
        } else
            runs_table(runs, n, fmt, local, stdout);
    }
    symbi_run_list_free(runs, n);
    symbi_job_cleanup(&job);
    symbi_store_close(st);
    return rc;
}
