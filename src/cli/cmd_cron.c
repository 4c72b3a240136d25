/* cmd_cron.c - `symbi cron <command>`: the table of job-management
 * commands. Each row's handler lives in the file of its concern. */
#include "cli/cli.h"

static const struct symbi_cli_cmd cron_commands[] = {
    {"help", NULL, "show these commands", "usage: symbi cron help\n"},
    {"list", symbi_cli_cmd_cron_list, "list jobs (by status, agent)", symbi_cli_cron_list_usage},
    {"add", symbi_cli_cmd_cron_add, "add jobs from JSON or a .symbi file",
     symbi_cli_cron_add_usage},
    {"remove", symbi_cli_cmd_cron_remove, "delete a job and its history",
     symbi_cli_cron_remove_usage},
    {"pause", symbi_cli_cmd_cron_pause, "stop a job from firing", symbi_cli_cron_pause_usage},
    {"resume", symbi_cli_cmd_cron_resume, "resume a paused job", symbi_cli_cron_resume_usage},
    {"reset", symbi_cli_cmd_cron_reset, "reactivate a dead-lettered job",
     symbi_cli_cron_reset_usage},
    {"status", symbi_cli_cmd_cron_status, "show a job's state and latest runs",
     symbi_cli_cron_status_usage},
    {"history", symbi_cli_cmd_cron_history, "list a job's runs", symbi_cli_cron_history_usage},
    {"context", symbi_cli_cmd_cron_context, "show or clear a job's session context",
     symbi_cli_cron_context_usage},
    {"next", symbi_cli_cmd_cron_next, "preview the next fire instants of a cron expression",
     symbi_cli_cron_next_usage},
    {"describe", symbi_cli_cmd_cron_describe, "a cron expression in words, with its DST notes",
     symbi_cli_cron_describe_usage},
    {"why", symbi_cli_cmd_cron_why, "why a job did or did not run, and what happens next",
     symbi_cli_cron_why_usage},
    {"backfill", symbi_cli_cmd_cron_backfill, "queue runs for the instants of a past range",
     symbi_cli_cron_backfill_usage},
    {"herd", symbi_cli_cmd_cron_herd, "seconds where too many runs would start together",
     symbi_cli_cron_herd_usage},
    {"approve", symbi_cli_cmd_cron_approve, "approve a run waiting for approval",
     symbi_cli_cron_approve_usage},
    {"deny", symbi_cli_cmd_cron_deny, "deny a run waiting for approval", symbi_cli_cron_deny_usage},
    {"run", symbi_cli_cmd_cron_run, "run a job now (queued for the live scheduler)",
     "usage: symbi cron run <job> [--input TEXT] [--wait] [--local]\n"
     "  Queues a manual run of the job for the live scheduler and prints its id.\n"
     "  --input TEXT   input for this run (default: the job's input)\n"
     "  --wait         wait for the run and print its output\n"
     "  --local        run it in this process when no scheduler is live\n"
     "  Exit 3 when no scheduler is live and --local is not given.\n"},
};

int symbi_cli_cmd_cron(struct symbi_cli *cli, int argc, char **argv)
{
    return symbi_cli_dispatch(cli, cron_commands, SYMBI_ARRAY_LEN(cron_commands), "symbi cron",
                              argc - 1, argv + 1);
}
