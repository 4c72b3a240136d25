/* cmd_cron_why.c - `symbi cron why <job> [--at T]`: why the job did or did
 * not run around now (or T), from the store alone, and what happens next. */
#include "cli/cli.h"
#include "cli/cli_out.h"
#include "symbi/config.h"
#include "symbi/sched.h"
#include "symbi/store.h"

#include <jansson.h>
#include <string.h>

const char symbi_cli_cron_why_usage[] =
    "usage: symbi cron why <job> [--at T] [--format text|json]\n"
    "  Explains from the store why the job did or did not run around now (or T):\n"
    "  paused, dead letter (last error), completed, refused by policy or AgentPin,\n"
    "  pending approval, concurrency skip, global queue, jitter, missed under\n"
    "  catch_up, no live scheduler, unknown agent; each with the run record and the\n"
    "  audit event that show it, then the next fire instant (UTC and the job's zone).\n"
    "  --at T   an RFC 3339 instant, a date, or a duration back from now (2h)\n";

static const struct symbi_cli_cmd why_cmd = {
    "why", symbi_cli_cmd_cron_why, "why a job did or did not run", symbi_cli_cron_why_usage};

static void print_text(json_t *doc)
{
    json_t *job = json_object_get(doc, "job");
    printf("Job %s (%.8s), %s: %s\n", json_string_value(json_object_get(job, "name")),
           json_string_value(json_object_get(job, "id")),
           json_string_value(json_object_get(job, "status")),
           json_string_value(json_object_get(doc, "description")));
    printf("Around %s:\n", json_string_value(json_object_get(doc, "at")));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "causes"), i, c)
    {
        printf("  %-18s %s\n", json_string_value(json_object_get(c, "cause")),
               json_string_value(json_object_get(c, "message")));
        json_t *r = json_object_get(c, "run");
        if (json_is_object(r))
            printf("  %-18s run %s %s %s, scheduled %s\n", "",
                   json_string_value(json_object_get(r, "id")),
                   json_string_value(json_object_get(r, "trigger")),
                   json_string_value(json_object_get(r, "status")),
                   json_string_value(json_object_get(r, "scheduled_at")));
        json_t *e = json_object_get(c, "event");
        if (json_is_object(e))
            printf("  %-18s audit #%lld %s at %s by %s\n", "",
                   (long long)json_integer_value(json_object_get(e, "id")),
                   json_string_value(json_object_get(e, "type")),
                   json_string_value(json_object_get(e, "time")),
                   json_string_value(json_object_get(e, "actor")));
    }
    json_t *n = json_object_get(doc, "next_run");
    if (json_is_object(n))
        printf("Next fire: %s (%s %s)\n", json_string_value(json_object_get(n, "utc")),
               json_string_value(json_object_get(n, "local")),
               json_string_value(json_object_get(n, "timezone")));
    else
        printf("Next fire: none\n");
}

int symbi_cli_cmd_cron_why(struct symbi_cli *cli, int argc, char **argv)
{
    const char *ref = NULL, *at_s = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--at") == 0 || strcmp(a, "--format") == 0) {
            if (i + 1 >= argc)
                return symbi_cli_usage(&why_cmd, "option '%s' needs a value", a);
            const char *v = argv[++i];
            if (strcmp(a, "--at") == 0)
                at_s = v;
            else if (strcmp(v, "json") == 0 || strcmp(v, "text") == 0)
                json = strcmp(v, "json") == 0;
            else
                return symbi_cli_usage(&why_cmd, "--format must be text or json");
        } else if (a[0] == '-' || ref != NULL) {
            return symbi_cli_usage(&why_cmd, "unexpected '%s'", a);
        } else {
            ref = a;
        }
    }
    if (ref == NULL)
        return symbi_cli_usage(&why_cmd, "which job?");
    int64_t now = symbi_now_wall_ms(), at = now;
    if (at_s != NULL && symbi_cli_time_arg(at_s, now, &at) != 0)
        return symbi_cli_usage(&why_cmd, "--at must be an RFC 3339 time or a duration, not '%s'",
                               at_s);
    struct symbi_config cfg;
    if (symbi_cli_load_config(cli, &cfg) != SYMBI_EXIT_OK)
        return SYMBI_EXIT_ERROR;
    int limit = cfg.max_concurrent_jobs;
    symbi_config_cleanup(&cfg);
    struct symbi_store *st;
    if (symbi_cli_open_store(cli, &st) != SYMBI_EXIT_OK)
        return SYMBI_EXIT_ERROR;
    struct symbi_why_facts f;
    struct symbi_err err = {0};
    int rc = symbi_sched_why_gather(st, ref, at, now, limit, &f, &err);
    symbi_store_close(st);
    if (rc != 0)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
    struct symbi_why w;
    symbi_sched_why(&f, &w);
    json_t *doc = symbi_why_to_json(&f, &w);
    symbi_why_facts_cleanup(&f);
    if (doc == NULL)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory");
    if (json)
        return symbi_cli_print_json(doc);
    print_text(doc);
    json_decref(doc);
    return SYMBI_EXIT_OK;
}
