/* cmd_logs.c - `symbi logs`: prints the daemon's log (<data_dir>/logs/
 * symbi.log and its rotated files, oldest first), filtered by component,
 * level and time, and with --follow keeps printing new lines. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define ROTATED_MAX    20
#define FOLLOW_POLL_MS 200

struct log_filter {
    const char *component;
    enum symbi_log_level level;
    int64_t since;
};

/* `time level component message`: true when the line passes the filter */
static bool line_passes(const char *line, const struct log_filter *f)
{
    char ts[64], lvl[16], comp[64];
    const char *p = line;
    size_t n;
    n = strcspn(p, " ");
    if (n == 0 || n >= sizeof ts || p[n] != ' ')
        return f->component == NULL && f->since == SYMBI_TIME_NONE && f->level == SYMBI_LOG_DEBUG;
    memcpy(ts, p, n);
    ts[n] = '\0';
    p += n + 1;
    n = strcspn(p, " ");
    if (n >= sizeof lvl)
        return false;
    memcpy(lvl, p, n);
    lvl[n] = '\0';
    p += n + (p[n] == ' ');
    n = strcspn(p, " \n");
    if (n >= sizeof comp)
        return false;
    memcpy(comp, p, n);
    comp[n] = '\0';
    enum symbi_log_level level;
    if (symbi_log_level_parse(lvl, &level) != 0 || level < f->level)
        return false;
    if (f->component != NULL && strcmp(comp, f->component) != 0)
        return false;
    if (f->since != SYMBI_TIME_NONE) {
        int64_t t;
        if (symbi_time_parse(ts, &t) != 0 || t < f->since)
            return false;
    }
    return true;
}

/* Prints the lines of fp that pass; keeps a partial last line for later. */
static void pump(FILE *fp, const struct log_filter *f, struct symbi_buf *partial)
{
    char chunk[8192];
    while (fgets(chunk, sizeof chunk, fp) != NULL) {
        symbi_buf_puts(partial, chunk);
        size_t len = partial->len;
        if (len == 0 || partial->data[len - 1] != '\n')
            continue;
        if (line_passes(partial->data, f))
            fputs(partial->data, stdout);
        symbi_buf_reset(partial);
    }
    clearerr(fp);
    fflush(stdout);
}

static void print_file(const char *path, const struct log_filter *f)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return;
    struct symbi_buf partial;
    symbi_buf_init(&partial, 1024 * 1024);
    pump(fp, f, &partial);
    if (partial.len > 0 && line_passes(partial.data, f))
        puts(partial.data);
    symbi_buf_cleanup(&partial);
    fclose(fp);
}

/* --since: an RFC 3339 instant or a duration back from now ("10m"). */
static int parse_since(const char *s, int64_t *out)
{
    if (symbi_time_parse(s, out) == 0)
        return 0;
    int64_t d;
    if (symbi_parse_duration_ms(s, &d) == 0) {
        *out = symbi_now_wall_ms() - d;
        return 0;
    }
    return SYMBI_EINVAL;
}

int symbi_cli_cmd_logs(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"filter", required_argument, NULL, 'c'},
        {"level", required_argument, NULL, 'l'},
        {"follow", no_argument, NULL, 'f'},
        {"since", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    const struct symbi_cli_cmd *cmd = NULL;
    for (size_t i = 0; i < symbi_cli_n_commands; i++)
        if (strcmp(symbi_cli_commands[i].name, "logs") == 0)
            cmd = &symbi_cli_commands[i];
    struct log_filter f = {NULL, SYMBI_LOG_DEBUG, SYMBI_TIME_NONE};
    bool follow = false;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            f.component = optarg;
            break;
        case 'l':
            if (symbi_log_level_parse(optarg, &f.level) != 0)
                return symbi_cli_usage(cmd, "bad --level '%s' (debug, info, warn, error)", optarg);
            break;
        case 'f':
            follow = true;
            break;
        case 's':
            if (parse_since(optarg, &f.since) != 0)
                return symbi_cli_usage(cmd, "bad --since '%s' (RFC 3339 time or duration)", optarg);
            break;
        default:
            return symbi_cli_usage(cmd, "bad option for 'logs'");
        }
    }
    if (optind < argc)
        return symbi_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    char *dir = symbi_cli_data_dir(cli);
    struct symbi_buf path;
    symbi_buf_init(&path, 0);
    if (dir == NULL || symbi_buf_printf(&path, "%s/logs/symbi.log", dir) != 0) {
        free(dir);
        symbi_buf_cleanup(&path);
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory");
    }
    free(dir);
    struct stat st;
    if (stat(path.data, &st) != 0 && !follow) {
        int rc =
            symbi_cli_fail(SYMBI_EXIT_ERROR, "no log at %s (has `symbi up` run here?)", path.data);
        symbi_buf_cleanup(&path);
        return rc;
    }
    /* rotated files first, oldest (highest number) first */
    for (int i = ROTATED_MAX; i >= 1; i--) {
        char rotated[4096];
        snprintf(rotated, sizeof rotated, "%s.%d", path.data, i);
        print_file(rotated, &f);
    }
    if (!follow) {
        print_file(path.data, &f);
        symbi_buf_cleanup(&path);
        return SYMBI_EXIT_OK;
    }
    /* follow: reopen when the file is rotated (its inode changes) */
    struct symbi_buf partial;
    symbi_buf_init(&partial, 1024 * 1024);
    FILE *fp = NULL;
    ino_t ino = 0;
    for (;;) {
        if (fp == NULL) {
            fp = fopen(path.data, "r");
            if (fp != NULL && fstat(fileno(fp), &st) == 0)
                ino = st.st_ino;
        }
        if (fp != NULL)
            pump(fp, &f, &partial);
        if (fp != NULL && stat(path.data, &st) == 0 && st.st_ino != ino) {
            pump(fp, &f, &partial);
            fclose(fp);
            fp = NULL;
            continue;
        }
        struct timespec ts = {0, FOLLOW_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
}
