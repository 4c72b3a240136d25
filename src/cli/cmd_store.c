/* cmd_store.c - `symbi store check|prune`: the store's integrity check and
 * retention (SPEC §13.1) by hand: what the daemon's pruner does, or would. */
#include "cli/cli.h"
#include "cli/cli_out.h"
#include "symbi/config.h"
#include "symbi/store.h"

#include <string.h>

#define PRUNE_BATCH 500

static const char prune_usage[] =
    "usage: symbi store prune [--dry-run]\n"
    "  Deletes terminal runs older than [store] keep_runs (default 90d) or beyond the\n"
    "  newest keep_runs_per_job (10000) of each job, and audit events older than\n"
    "  keep_audit (365d), in batches of 500. Queued, running and pending runs stay.\n"
    "  --dry-run   print how many would be deleted, delete nothing\n";
static const char check_usage[] =
    "usage: symbi store check\n"
    "  Runs the store's integrity check (SQLite: integrity_check, foreign_key_check).\n"
    "  Exit 0 when it is consistent, 1 with the first problem otherwise.\n";

static int cmd_prune(struct symbi_cli *cli, int argc, char **argv);
static int cmd_check(struct symbi_cli *cli, int argc, char **argv);

static const struct symbi_cli_cmd store_commands[] = {
    {"check", cmd_check, "run the integrity check", check_usage},
    {"prune", cmd_prune, "delete history past the retention bounds", prune_usage},
};

static int cmd_check(struct symbi_cli *cli, int argc, char **argv)
{
    if (argc > 1)
        return symbi_cli_usage(&store_commands[0], "unexpected '%s'", argv[1]);
    struct symbi_store *st;
    if (symbi_cli_open_store(cli, &st) != SYMBI_EXIT_OK)
        return SYMBI_EXIT_ERROR;
    struct symbi_err err = {0};
    int rc = symbi_store_check(st, &err);
    symbi_store_close(st);
    if (rc != 0)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
    printf("store: ok\n");
    return SYMBI_EXIT_OK;
}

static int cmd_prune(struct symbi_cli *cli, int argc, char **argv)
{
    bool dry = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dry-run") == 0)
            dry = true;
        else
            return symbi_cli_usage(&store_commands[1], "unexpected '%s'", argv[i]);
    }
    struct symbi_config cfg;
    if (symbi_cli_load_config(cli, &cfg) != SYMBI_EXIT_OK)
        return SYMBI_EXIT_ERROR;
    struct symbi_retention r = {symbi_now_wall_ms(), cfg.keep_runs_ms, cfg.keep_runs_per_job,
                                cfg.keep_audit_ms};
    symbi_config_cleanup(&cfg);
    struct symbi_store *st;
    if (symbi_cli_open_store(cli, &st) != SYMBI_EXIT_OK)
        return SYMBI_EXIT_ERROR;
    struct symbi_prune_counts total = {0}, c;
    struct symbi_err err = {0};
    int rc;
    do {
        rc = symbi_store_prune(st, &r, PRUNE_BATCH, dry, &c, &err);
        total.runs += c.runs;
        total.audit += c.audit;
        total.contexts += c.contexts;
    } while (rc == 0 && !dry && c.runs + c.audit + c.contexts > 0);
    symbi_store_close(st);
    if (rc != 0)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
    printf("%s %lld run%s, %lld audit event%s and %lld archived context entr%s\n",
           dry ? "would delete" : "deleted", (long long)total.runs, total.runs == 1 ? "" : "s",
           (long long)total.audit, total.audit == 1 ? "" : "s", (long long)total.contexts,
           total.contexts == 1 ? "y" : "ies");
    return SYMBI_EXIT_OK;
}

int symbi_cli_cmd_store(struct symbi_cli *cli, int argc, char **argv)
{
    return symbi_cli_dispatch(cli, store_commands, SYMBI_ARRAY_LEN(store_commands), "symbi store",
                              argc - 1, argv + 1);
}
