/* main.c - the `symbi` executable: global options, then the command table.
 * Library code never prints or exits; this file and src/cli do. */
#include "cli/cli.h"

#include "symbi/agent.h"

#include <stdlib.h>
#include <string.h>

static const char global_usage[] =
    "usage: symbi [--store URL|PATH] [--data-dir DIR] [--config FILE] <command> [options]\n";

int main(int argc, char **argv)
{
    struct symbi_cli cli = {0};
    /* one registration, before any thread: `symbi up`, `symbi run` and
     * `symbi cron run --local` all run model agents through it */
    struct symbi_err err;
    if (symbi_agent_model_install(&err) != 0)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--store") == 0)
            slot = &cli.store_flag;
        else if (strcmp(a, "--data-dir") == 0)
            slot = &cli.data_dir_flag;
        else if (strcmp(a, "--config") == 0)
            slot = &cli.config_flag;
        else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0)
            return symbi_cli_cmd_version(&cli, 1, (char *[]){"version", NULL});
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            break;
        else {
            fputs(global_usage, stderr);
            return symbi_cli_fail(SYMBI_EXIT_USAGE, "unknown option '%s'", a);
        }
        if (i + 1 >= argc) {
            fputs(global_usage, stderr);
            return symbi_cli_fail(SYMBI_EXIT_USAGE, "option '%s' needs a value", a);
        }
        *slot = argv[++i];
    }
    bool help = i < argc && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0);
    if (help || i >= argc) {
        /* one usage line: the global one, then the commands */
        FILE *out = help ? stdout : stderr;
        fputs(global_usage, out);
        fputc('\n', out);
        symbi_cli_print_commands(out, symbi_cli_commands, symbi_cli_n_commands, "symbi");
        return help ? SYMBI_EXIT_OK : SYMBI_EXIT_USAGE;
    }
    return symbi_cli_dispatch(&cli, symbi_cli_commands, symbi_cli_n_commands, "symbi", argc - i,
                              argv + i);
}
