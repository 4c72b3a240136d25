/* cmd_version.c - `symbi version`. */
#include "cli/cli.h"

int symbi_cli_cmd_version(struct symbi_cli *cli, int argc, char **argv)
{
    (void)cli;
    (void)argv;
    if (argc > 1)
        return symbi_cli_fail(SYMBI_EXIT_USAGE, "version takes no arguments");
    printf("symbi %s\n", SYMBI_VERSION);
    return SYMBI_EXIT_OK;
}
