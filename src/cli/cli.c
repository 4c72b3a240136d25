/* cli.c - command-table dispatch, help and usage output, error printing and
 * the data-directory rule shared by every command. */
#include "cli/cli.h"

#include "symbi/config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void symbi_cli_print_table(FILE *out, const struct symbi_cli_cmd *table, size_t n,
                           const char *group)
{
    fprintf(out, "usage: %s <command> [options]\n\n", group);
    symbi_cli_print_commands(out, table, n, group);
}

void symbi_cli_print_commands(FILE *out, const struct symbi_cli_cmd *table, size_t n,
                              const char *group)
{
    fputs("commands:\n", out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-12s %s\n", table[i].name, table[i].summary);
    fprintf(out, "\nRun '%s <command> --help' for a command's options.\n", group);
}

bool symbi_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    }
    return false;
}

int symbi_cli_dispatch(struct symbi_cli *cli, const struct symbi_cli_cmd *table, size_t n,
                       const char *group, int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "help") == 0 || strcmp(argv[0], "--help") == 0 ||
        strcmp(argv[0], "-h") == 0) {
        if (argc >= 2) {
            for (size_t i = 0; i < n; i++) {
                if (strcmp(table[i].name, argv[1]) == 0) {
                    fputs(table[i].usage, stdout);
                    return SYMBI_EXIT_OK;
                }
            }
        }
        symbi_cli_print_table(argc < 1 ? stderr : stdout, table, n, group);
        return argc < 1 ? SYMBI_EXIT_USAGE : SYMBI_EXIT_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i].name, argv[0]) != 0)
            continue;
        if (symbi_cli_wants_help(argc, argv) && table[i].run != symbi_cli_cmd_cron &&
            table[i].run != symbi_cli_cmd_api_key && table[i].run != symbi_cli_cmd_audit &&
            table[i].run != symbi_cli_cmd_store) {
            fputs(table[i].usage, stdout);
            return SYMBI_EXIT_OK;
        }
        return table[i].run(cli, argc, argv);
    }
    fprintf(stderr, "%s: unknown command '%s'\n\n", group, argv[0]);
    symbi_cli_print_table(stderr, table, n, group);
    return SYMBI_EXIT_USAGE;
}

int symbi_cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("symbi: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int symbi_cli_usage(const struct symbi_cli_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("symbi: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n\n", stderr);
    va_end(ap);
    if (cmd != NULL)
        fputs(cmd->usage, stderr);
    return SYMBI_EXIT_USAGE;
}

static char *path_join(const char *a, const char *b)
{
    struct symbi_buf buf;
    symbi_buf_init(&buf, 0);
    if (symbi_buf_printf(&buf, "%s/%s", a, b) != 0) {
        symbi_buf_cleanup(&buf);
        return NULL;
    }
    return symbi_buf_steal(&buf);
}

/* Set when symbi_cli_store_url returned NULL after printing why. */
static bool store_url_reported;

int symbi_cli_load_config(const struct symbi_cli *cli, struct symbi_config *cfg)
{
    struct symbi_err err;
    symbi_err_clear(&err);
    symbi_config_init(cfg);
    if (symbi_config_load(cfg, cli->config_flag, cli->data_dir_flag, &err) != 0)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s",
                              err.msg[0] ? err.msg : symbi_strerror(err.code));
    return SYMBI_EXIT_OK;
}

int symbi_cli_store_url_fail(void)
{
    if (store_url_reported)
        return SYMBI_EXIT_ERROR;
    return symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory");
}

/* The data directory as the configuration resolves it (its `data_dir`,
 * else the XDG default), or NULL when the file does not load: the commands
 * that read the configuration report that. */
static char *config_data_dir(const struct symbi_cli *cli)
{
    struct symbi_config cfg;
    symbi_config_init(&cfg);
    char *dir = NULL;
    if (symbi_config_load(&cfg, cli->config_flag, NULL, NULL) == 0)
        dir = symbi_strdup(cfg.data_dir);
    symbi_config_cleanup(&cfg);
    return dir;
}

char *symbi_cli_data_dir(const struct symbi_cli *cli)
{
    if (cli->data_dir_flag != NULL)
        return symbi_strdup(cli->data_dir_flag);
    const char *v = getenv("SYMBI_HOME");
    if (v != NULL && *v != '\0')
        return symbi_strdup(v);
    char *dir = config_data_dir(cli);
    if (dir != NULL)
        return dir;
    v = getenv("XDG_DATA_HOME");
    if (v != NULL && *v != '\0')
        return path_join(v, "symbi");
    v = getenv("HOME");
    return path_join(v != NULL && *v != '\0' ? v : ".", ".local/share/symbi");
}

char *symbi_cli_store_url(const struct symbi_cli *cli)
{
    if (cli->store_flag != NULL)
        return symbi_strdup(cli->store_flag);
    const char *v = getenv("SYMBI_STORE");
    if (v != NULL && *v != '\0')
        return symbi_strdup(v);
    /* [store] url of the configuration file */
    struct symbi_config cfg;
    if (symbi_cli_load_config(cli, &cfg) != SYMBI_EXIT_OK) {
        store_url_reported = true;
        return NULL;
    }
    if (cfg.store_url != NULL) {
        char *url = symbi_config_store_url(&cfg);
        symbi_config_cleanup(&cfg);
        return url;
    }
    symbi_config_cleanup(&cfg);
    char *dir = symbi_cli_data_dir(cli);
    if (dir == NULL)
        return NULL;
    /* the data directory and its parents, private to the user */
    for (char *p = dir + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0700);
            *p = '/';
        }
    }
    mkdir(dir, 0700);
    char *url = path_join(dir, "symbi.db");
    free(dir);
    return url;
}
