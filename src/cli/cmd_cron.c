/* cmd_cron.c - `symbi cron <command>`: the table of job-management
 * commands. Each row's handler lives in the file of its concern. */
#include "cli/cli.h"

static const struct symbi_cli_cmd cron_commands[] = {
    {"help", NULL, "show these commands", "usage: symbi cron help\n"},
    {"next", symbi_cli_cmd_cron_next, "preview the next fire instants of a cron expression",
     symbi_cli_cron_next_usage},
};

int symbi_cli_cmd_cron(struct symbi_cli *cli, int argc, char **argv)
{
    return symbi_cli_dispatch(cli, cron_commands, SYMBI_ARRAY_LEN(cron_commands), "symbi cron",
                              argc - 1, argv + 1);
}
