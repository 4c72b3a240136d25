/* cli.h - internal interface of the `symbi` command line: the context every
 * command receives, the command tables, and shared helpers. */
#ifndef SYMBI_CLI_H
#define SYMBI_CLI_H

#include "symbi/core.h"

#include <stdio.h>

/* exit codes (SPEC §10) */
enum {
    SYMBI_EXIT_OK = 0,
    SYMBI_EXIT_ERROR = 1,
    SYMBI_EXIT_USAGE = 2,
    SYMBI_EXIT_NOSCHED = 3,
};

/* What every command receives: the global options, as given. */
struct symbi_cli {
    const char *store_flag;    /* --store URL|PATH */
    const char *data_dir_flag; /* --data-dir DIR */
    const char *config_flag;   /* --config FILE */
};

/* One row of a command table: its name, handler, one-line summary and
 * usage text (printed by --help and on a usage error). The handler gets
 * argv[0] = the command's name and returns an exit code. */
struct symbi_cli_cmd {
    const char *name;
    int (*run)(struct symbi_cli *cli, int argc, char **argv);
    const char *summary;
    const char *usage;
};

/* Runs the command of `table` named by argv[0] ("help", "--help" and no
 * command print the table). `group` is the command path for messages
 * ("symbi", "symbi cron"). */
int symbi_cli_dispatch(struct symbi_cli *cli, const struct symbi_cli_cmd *table, size_t n,
                       const char *group, int argc, char **argv);
void symbi_cli_print_table(FILE *out, const struct symbi_cli_cmd *table, size_t n,
                           const char *group);
/* The table without its usage line (after a usage line of the caller's). */
void symbi_cli_print_commands(FILE *out, const struct symbi_cli_cmd *table, size_t n,
                              const char *group);

/* Prints "symbi: <message>" to stderr; returns code. */
int symbi_cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints a usage error and the command's usage; returns SYMBI_EXIT_USAGE. */
int symbi_cli_usage(const struct symbi_cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* true when argv holds -h or --help */
bool symbi_cli_wants_help(int argc, char **argv);

/* The data directory: --data-dir, $SYMBI_HOME, the configuration file's
 * `data_dir`, $XDG_DATA_HOME/symbi, else ~/.local/share/symbi. Heap string. */
char *symbi_cli_data_dir(const struct symbi_cli *cli);

struct symbi_config;
/* Loads the configuration the global options name (--config, $SYMBI_CONFIG,
 * ./symbi.toml, XDG; SPEC §11) into cfg (initialised by the call; clean it
 * up). On a bad file prints `symbi: FILE:LINE: KEY: message` and returns
 * SYMBI_EXIT_ERROR. */
int symbi_cli_load_config(const struct symbi_cli *cli, struct symbi_config *cfg);

struct symbi_store;
/* The store URL in effect: --store, $SYMBI_STORE, the configuration file's
 * [store] url (${VAR} expanded), else <data dir>/symbi.db (creating the data
 * directory). Heap string; NULL after printing the error when the
 * configuration file does not load (or when out of memory). */
char *symbi_cli_store_url(const struct symbi_cli *cli);
/* For a NULL symbi_cli_store_url: prints "out of memory" unless the reason
 * was already printed; returns SYMBI_EXIT_ERROR. */
int symbi_cli_store_url_fail(void);
/* Opens that store; prints the error and returns SYMBI_EXIT_ERROR on failure. */
int symbi_cli_open_store(const struct symbi_cli *cli, struct symbi_store **out);

struct symbi_config;
struct symbi_http_hooks;
struct symbi_http_server;
/* Starts the HTTP API of `symbi up` (up_http.c) on listen (NULL: the
 * configuration's) with the store store_url (pass the scheduler's; NULL:
 * [store] url, else the --store/$SYMBI_STORE/data-dir rule), the [api]
 * settings, SYMBI_API_KEY, and the scheduler's hooks (may be NULL). cfg may
 * be NULL (defaults and environment). */
int symbi_cli_http_start(const struct symbi_cli *cli, const struct symbi_config *cfg,
                         const char *listen, const char *store_url,
                         const struct symbi_http_hooks *hooks, struct symbi_http_server **out,
                         struct symbi_err *err);

/* The systemd notify protocol (notify.c), no-ops without $NOTIFY_SOCKET:
 * one datagram `msg`; READY=1 (and a WATCHDOG=1 thread every
 * $WATCHDOG_USEC / 2 while the scheduler's loop runs); STOPPING=1 (after
 * stopping the watchdog). */
struct symbi_sched;
int symbi_cli_notify(const char *msg);
void symbi_cli_notify_ready(struct symbi_sched *sched);
void symbi_cli_notify_stopping(void);
struct symbi_sched_config;
/* The run pipeline's settings from the configuration (run_settings.c): the
 * scheduler's knobs and its executor config, the executor's hooks
 * included. The one mapping used by `symbi up`, `symbi run` and `cron run
 * --local`; strings are borrowed from cfg. */
void symbi_cli_run_settings(const struct symbi_config *cfg, struct symbi_sched_config *sc);
struct symbi_policy_env;
/* The policy gate's environment from cfg (run_policy.c): environment,
 * [agentpin] required and its verifier (keys that cannot be loaded are
 * logged and refuse every credential). Lives until exit; NULL when out of
 * memory. */
struct symbi_policy_env *symbi_cli_policy_env(const struct symbi_config *cfg);
struct symbi_exec_ctx;
struct symbi_gate_decision;
/* A gate that fails every run (its environment could not be built). */
int symbi_cli_gate_refuse(void *ud, const struct symbi_exec_ctx *c, struct symbi_gate_decision *d,
                          struct symbi_err *err);
/* From monotonic instant mono_ms on, the delivery routers built by
 * symbi_cli_run_settings try nothing more (the graceful stop's end). */
void symbi_cli_delivery_deadline(int64_t mono_ms);

/* the top-level commands */
extern const struct symbi_cli_cmd symbi_cli_commands[];
extern const size_t symbi_cli_n_commands;

int symbi_cli_cmd_version(struct symbi_cli *cli, int argc, char **argv);
int symbi_cli_cmd_up(struct symbi_cli *cli, int argc, char **argv);
int symbi_cli_cmd_cron(struct symbi_cli *cli, int argc, char **argv);
int symbi_cli_cmd_dsl(struct symbi_cli *cli, int argc, char **argv);
int symbi_cli_cmd_run(struct symbi_cli *cli, int argc, char **argv);
int symbi_cli_cmd_logs(struct symbi_cli *cli, int argc, char **argv);
int symbi_cli_cmd_store(struct symbi_cli *cli, int argc, char **argv); /* cmd_store.c */
int symbi_cli_cmd_cron_run(struct symbi_cli *cli, int argc, char **argv);

/* `symbi cron` subcommands (rows of cron_commands in cmd_cron.c) */
int symbi_cli_cmd_cron_next(struct symbi_cli *cli, int argc, char **argv);
extern const char symbi_cli_cron_next_usage[];
int symbi_cli_cmd_api_key(struct symbi_cli *cli, int argc, char **argv);
int symbi_cli_cmd_cron_list(struct symbi_cli *cli, int argc, char **argv);
extern const char symbi_cli_cron_list_usage[];
int symbi_cli_cmd_cron_add(struct symbi_cli *cli, int argc, char **argv);
extern const char symbi_cli_cron_add_usage[];
int symbi_cli_cmd_cron_remove(struct symbi_cli *cli, int argc, char **argv);
extern const char symbi_cli_cron_remove_usage[];
int symbi_cli_cmd_cron_pause(struct symbi_cli *cli, int argc, char **argv);
extern const char symbi_cli_cron_pause_usage[];
int symbi_cli_cmd_cron_resume(struct symbi_cli *cli, int argc, char **argv);
extern const char symbi_cli_cron_resume_usage[];
int symbi_cli_cmd_cron_reset(struct symbi_cli *cli, int argc, char **argv);
extern const char symbi_cli_cron_reset_usage[];
int symbi_cli_cmd_cron_status(struct symbi_cli *cli, int argc, char **argv);
extern const char symbi_cli_cron_status_usage[];
int symbi_cli_cmd_cron_history(struct symbi_cli *cli, int argc, char **argv);
extern const char symbi_cli_cron_history_usage[];
int symbi_cli_cmd_cron_context(struct symbi_cli *cli, int argc, char **argv);
extern const char symbi_cli_cron_context_usage[];

int symbi_cli_cmd_cron_describe(struct symbi_cli *cli, int argc, char **argv);
extern const char symbi_cli_cron_describe_usage[];
int symbi_cli_cmd_cron_herd(struct symbi_cli *cli, int argc, char **argv);
extern const char symbi_cli_cron_herd_usage[];
int symbi_cli_cmd_cron_backfill(struct symbi_cli *cli, int argc, char **argv);
extern const char symbi_cli_cron_backfill_usage[];
int symbi_cli_cmd_cron_why(struct symbi_cli *cli, int argc, char **argv);
extern const char symbi_cli_cron_why_usage[];
int symbi_cli_cmd_cron_approve(struct symbi_cli *cli, int argc, char **argv);
extern const char symbi_cli_cron_approve_usage[];
int symbi_cli_cmd_cron_deny(struct symbi_cli *cli, int argc, char **argv);
extern const char symbi_cli_cron_deny_usage[];
int symbi_cli_cmd_agentpin(struct symbi_cli *cli, int argc, char **argv);
struct symbi_agentpin;
/* The AgentPin verifier of cfg's [agentpin] (${VAR} expanded), discovery
 * through libcurl (symbi/fetch.h). */
int symbi_cli_agentpin_new(const struct symbi_config *cfg, struct symbi_agentpin **out,
                           struct symbi_err *err);

/* `symbi audit` (cmd_audit.c) */
int symbi_cli_cmd_audit(struct symbi_cli *cli, int argc, char **argv);

#endif
