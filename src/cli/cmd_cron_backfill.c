/* cmd_cron_backfill.c - `symbi cron backfill <job> --from T1 --to T2`: one
 * queued run per fire instant of the range, for the live scheduler. */
#include "cli/cli.h"
#include "cli/cli_out.h"
#include "symbi/sched.h"
#include "symbi/store.h"

#include <jansson.h>
#include <string.h>

const char symbi_cli_cron_backfill_usage[] =
    "usage: symbi cron backfill <job> --from T1 --to T2 [--dry-run] [--format text|json]\n"
    "  Queues one run (trigger backfill) per fire instant of the job in [T1, T2), in\n"
    "  order, for the live scheduler, which starts them within max_concurrent and\n"
    "  max_concurrent_jobs. Instants that already have a run record are listed and\n"
    "  skipped. At most 10000 instants per call. T1, T2: RFC 3339.\n"
    "  --dry-run   list what would be queued, write nothing\n";

static const struct symbi_cli_cmd backfill_cmd = {"backfill", symbi_cli_cmd_cron_backfill,
                                                  "queue runs for the past instants of a range",
                                                  symbi_cli_cron_backfill_usage};

int symbi_cli_cmd_cron_backfill(struct symbi_cli *cli, int argc, char **argv)
{
    const char *ref = NULL, *from_s = NULL, *to_s = NULL;
    bool dry = false, json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--dry-run") == 0) {
            dry = true;
        } else if (strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0 ||
                   strcmp(a, "--format") == 0) {
            if (i + 1 >= argc)
                return symbi_cli_usage(&backfill_cmd, "option '%s' needs a value", a);
            const char *v = argv[++i];
            if (strcmp(a, "--from") == 0)
                from_s = v;
            else if (strcmp(a, "--to") == 0)
                to_s = v;
            else if (strcmp(v, "json") == 0 || strcmp(v, "text") == 0)
                json = strcmp(v, "json") == 0;
            else
                return symbi_cli_usage(&backfill_cmd, "--format must be text or json");
        } else if (a[0] == '-' || ref != NULL) {
            return symbi_cli_usage(&backfill_cmd, "unexpected '%s'", a);
        } else {
            ref = a;
        }
    }
    int64_t from, to;
    if (ref == NULL || from_s == NULL || to_s == NULL)
        return symbi_cli_usage(&backfill_cmd, "give the job, --from and --to");
    if (symbi_time_parse(from_s, &from) != 0 || symbi_time_parse(to_s, &to) != 0)
        return symbi_cli_usage(&backfill_cmd, "--from and --to must be RFC 3339 times");
    struct symbi_store *st;
    if (symbi_cli_open_store(cli, &st) != SYMBI_EXIT_OK)
        return SYMBI_EXIT_ERROR;
    struct symbi_backfill b;
    struct symbi_err err = {0};
    int64_t now = symbi_now_wall_ms();
    int rc = symbi_sched_backfill(st, ref, from, to, dry, now, "cli", &b, &err);
    bool live = false;
    if (rc == 0)
        (void)symbi_store_node_alive(st, NULL, now, &live, NULL);
    symbi_store_close(st);
    if (rc != 0)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
    if (json) {
        rc = symbi_cli_print_json(symbi_backfill_to_json(&b, from, to, dry));
    } else {
        char t[SYMBI_TIME_STRLEN];
        for (size_t i = 0; i < b.n; i++)
            printf("%-8s %s\n",
                   b.existed[i] ? "exists"
                   : dry        ? "would"
                                : "queued",
                   symbi_time_fmt(b.instants[i], t));
        printf("%s: %zu run%s %s, %zu instant%s skipped (already in the ledger)\n", b.job_name,
               b.n_queued, b.n_queued == 1 ? "" : "s", dry ? "would be queued" : "queued",
               b.n - b.n_queued, b.n - b.n_queued == 1 ? "" : "s");
        if (!dry && b.n_queued > 0 && !live)
            printf("No scheduler is live: the runs start when `symbi up` runs.\n");
        rc = SYMBI_EXIT_OK;
    }
    symbi_backfill_cleanup(&b);
    return rc;
}
