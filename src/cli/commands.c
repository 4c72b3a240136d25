/* commands.c - the table of top-level `symbi` commands: one row each with
 * its handler, summary and usage text. */
#include "cli/cli.h"

const struct symbi_cli_cmd symbi_cli_commands[] = {
    {"up", symbi_cli_cmd_up, "run the scheduler daemon and the HTTP API",
     "usage: symbi up [--listen ADDR:PORT] [--agents DIR] [--environment NAME]\n"
     "  Runs the scheduler until SIGINT or SIGTERM.\n"
     "  --listen ADDR:PORT   HTTP API address (default 127.0.0.1:8080)\n"
     "  --agents DIR         directory of .symbi files (default ./agents when present)\n"
     "  --environment NAME   the environment policies see (default development)\n"},
    {"cron", symbi_cli_cmd_cron, "manage scheduled jobs (list, add, run, next, ...)",
     "usage: symbi cron <command> [options]\n  Run 'symbi cron --help' for the commands.\n"},
    {"dsl", symbi_cli_cmd_dsl, "check .symbi files (agents and schedules)",
     "usage: symbi dsl check [--format text|json] FILE...\n"
     "  Parses and validates each FILE. Prints `FILE: ok (N agents, M schedules)` for a\n"
     "  good file; diagnostics `file:line:col: error: message` on stderr for a bad one.\n"
     "  Exit 0 when every file is good, 1 otherwise.\n"
     "  --format json   print each file's agents, schedules and diagnostics as JSON\n"},
    {"api-key", symbi_cli_cmd_api_key, "manage HTTP API keys (create, list, revoke)",
     "usage: symbi api-key <command> [options]\n"
     "  create --name NAME   create a key and print it once\n"
     "  list [--format table|json]\n"
     "  revoke <id|prefix|name>\n"},
    {"agentpin", symbi_cli_cmd_agentpin, "make AgentPin keys, issue and verify credentials",
     "usage: symbi agentpin <keygen|issue|verify> [options]\n"
     "  Run 'symbi agentpin --help' for the commands.\n"},
    {"audit", symbi_cli_cmd_audit, "query the audit trail",
     "usage: symbi audit <command> [options]\n  Run 'symbi audit --help' for the commands.\n"},
    {"run", symbi_cli_cmd_run, "run an agent once in the foreground and print its output",
     "usage: symbi run <agent> [--input TEXT] [--file F.symbi]\n"
     "  Runs the agent once, outside the scheduler, and prints its output.\n"
     "  --input TEXT    the agent's input (stdin of a command agent)\n"
     "  --file F.symbi  take the agent from this file instead of the store\n"},
    {"logs", symbi_cli_cmd_logs, "print the daemon's log",
     "usage: symbi logs [--filter COMPONENT] [--level LEVEL] [--follow] [--since T]\n"
     "  Prints <data_dir>/logs/symbi.log (rotated files first).\n"
     "  --filter COMPONENT  only this component (scheduler, store, api, agent, ...)\n"
     "  --level LEVEL       at least this level (debug, info, warn, error)\n"
     "  --follow            keep printing new lines\n"
     "  --since T           from an RFC 3339 time, or a duration back from now (10m)\n"},
    {"store", symbi_cli_cmd_store, "check the store, prune old history",
     "usage: symbi store check|prune [--dry-run]\n"
     "  check              run the store's integrity check\n"
     "  prune [--dry-run]  delete runs and audit events past [store] keep_runs,\n"
     "                     keep_runs_per_job and keep_audit\n"},
    {"version", symbi_cli_cmd_version, "print the version",
     "usage: symbi version\n  Prints symbi's version.\n"},
};
const size_t symbi_cli_n_commands = SYMBI_ARRAY_LEN(symbi_cli_commands);
