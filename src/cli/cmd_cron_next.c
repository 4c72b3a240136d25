/* cmd_cron_next.c - `symbi cron next EXPR`: previews the next fire instants
 * of an expression in a zone (UTC and local), across DST transitions. */
#include "cli/cli.h"
#include "symbi/cron.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define NEXT_COUNT_DEFAULT 5
#define NEXT_COUNT_MAX     1000

/* "2026-03-29T03:30:00+02:00" (with_offset) or "2026-03-29T03:30:00". */
static void local_fmt(int64_t utc_ms, int off_s, bool with_offset, char *out, size_t cap)
{
    char t[SYMBI_TIME_STRLEN];
    symbi_time_fmt(utc_ms + (int64_t)off_s * 1000, t);
    size_t n = strlen(t);
    if (n > 0 && t[n - 1] == 'Z')
        t[n - 1] = '\0';
    char o[16];
    int a = off_s < 0 ? -off_s : off_s;
    if (a % 60 != 0)
        snprintf(o, sizeof o, "%c%02d:%02d:%02d", off_s < 0 ? '-' : '+', a / 3600, a / 60 % 60,
                 a % 60);
    else
        snprintf(o, sizeof o, "%c%02d:%02d", off_s < 0 ? '-' : '+', a / 3600, a / 60 % 60);
    if (with_offset)
        snprintf(out, cap, "%s%s", t, o);
    else
        snprintf(out, cap, "%s  %s", t, o);
}

struct next_args {
    const char *expr;
    const char *tz;
    const char *from;
    const char *format;
    int count;
    struct symbi_cron_opts opts;
};

static const struct symbi_cli_cmd *self(void);

/* Takes "--name value" or "--name=value" at argv[*i]; NULL when not it. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static int parse_args(int argc, char **argv, struct next_args *a, struct symbi_buf *expr)
{
    *a = (struct next_args){.tz = "UTC", .format = "table", .count = NEXT_COUNT_DEFAULT};
    a->opts.every_anchor_ms = SYMBI_TIME_NONE;
    bool dashdash = false;
    for (int i = 1; i < argc; i++) {
        const char *v;
        bool missing = false;
        if (!dashdash && argv[i][0] == '-' && argv[i][1] != '\0') {
            if (strcmp(argv[i], "--") == 0) {
                dashdash = true;
            } else if ((v = opt_value(argc, argv, &i, "--tz", &missing)) != NULL) {
                a->tz = v;
            } else if ((v = opt_value(argc, argv, &i, "--from", &missing)) != NULL) {
                a->from = v;
            } else if ((v = opt_value(argc, argv, &i, "--count", &missing)) != NULL) {
                if (symbi_parse_int(v, 1, NEXT_COUNT_MAX, &a->count) != 0)
                    return symbi_cli_usage(self(), "--count must be 1-%d, not '%s'", NEXT_COUNT_MAX,
                                           v);
            } else if ((v = opt_value(argc, argv, &i, "--format", &missing)) != NULL) {
                if (strcmp(v, "table") != 0 && strcmp(v, "json") != 0)
                    return symbi_cli_usage(self(), "--format must be table or json, not '%s'", v);
                a->format = v;
            } else if ((v = opt_value(argc, argv, &i, "--dst-gap", &missing)) != NULL) {
                if (symbi_dst_gap_parse(v, &a->opts.gap) != 0)
                    return symbi_cli_usage(self(), "--dst-gap must be shift or skip, not '%s'", v);
            } else if ((v = opt_value(argc, argv, &i, "--dst-overlap", &missing)) != NULL) {
                if (symbi_dst_overlap_parse(v, &a->opts.overlap) != 0)
                    return symbi_cli_usage(self(),
                                           "--dst-overlap must be auto, first, last or both, "
                                           "not '%s'",
                                           v);
            } else if (missing) {
                return symbi_cli_usage(self(), "option '%s' needs a value", argv[i]);
            } else {
                return symbi_cli_usage(self(), "unknown option '%s'", argv[i]);
            }
            if (missing)
                return symbi_cli_usage(self(), "option '%s' needs a value", argv[i]);
            continue;
        }
        /* the expression: one argument, or several joined by spaces */
        if ((expr->len > 0 && symbi_buf_putc(expr, ' ') != 0) || symbi_buf_puts(expr, argv[i]))
            return symbi_cli_fail(SYMBI_EXIT_ERROR, "cron: expression longer than %d characters",
                                  SYMBI_CRON_MAX_LEN);
    }
    if (expr->len == 0)
        return symbi_cli_usage(self(), "missing the cron expression");
    a->expr = symbi_buf_str(expr);
    return SYMBI_EXIT_OK;
}

static int print_json(const struct next_args *a, const struct symbi_zone *z, const int64_t *t,
                      int n, const struct symbi_cron_desc *d)
{
    json_t *root = json_object(), *arr = json_array();
    if (root == NULL || arr == NULL) {
        json_decref(root);
        json_decref(arr);
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory");
    }
    json_object_set_new(root, "expr", json_string(a->expr));
    json_object_set_new(root, "timezone", json_string(symbi_zone_name(z)));
    for (int i = 0; i < n; i++) {
        char utc[SYMBI_TIME_STRLEN], local[48];
        symbi_time_fmt(t[i], utc);
        local_fmt(t[i], symbi_zone_offset(z, t[i]), true, local, sizeof local);
        json_t *o = json_object();
        json_object_set_new(o, "utc", json_string(utc));
        json_object_set_new(o, "local", json_string(local));
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "next", arr);
    json_object_set_new(root, "description", json_string(d->text));
    json_t *notes = json_array();
    for (size_t i = 0; i < d->n_notes; i++)
        json_array_append_new(notes, json_string(d->notes[i]));
    json_object_set_new(root, "dst_notes", notes);
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text == NULL)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory");
    puts(text);
    free(text);
    return SYMBI_EXIT_OK;
}

int symbi_cli_cmd_cron_next(struct symbi_cli *cli, int argc, char **argv)
{
    (void)cli;
    struct next_args a;
    struct symbi_buf expr;
    symbi_buf_init(&expr, SYMBI_CRON_MAX_LEN);
    int rc = parse_args(argc, argv, &a, &expr);
    if (rc != SYMBI_EXIT_OK) {
        symbi_buf_cleanup(&expr);
        return rc;
    }
    int64_t from = symbi_now_wall_ms();
    if (a.from != NULL && symbi_time_parse(a.from, &from) != 0) {
        symbi_buf_cleanup(&expr);
        return symbi_cli_usage(self(), "--from must be an RFC 3339 time, not '%s'", a.from);
    }
    struct symbi_err err = {0};
    struct symbi_cron *c = NULL;
    const struct symbi_zone *z = NULL;
    if (symbi_cron_parse(a.expr, &c, &err) != 0 || symbi_zone_get(a.tz, &z, &err) != 0) {
        symbi_cron_free(c);
        symbi_buf_cleanup(&expr);
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
    }
    int64_t t[NEXT_COUNT_MAX];
    int n = 0;
    int64_t cur = from;
    while (n < a.count && symbi_cron_next(c, z, cur, &a.opts, &t[n]) == 0)
        cur = t[n++];
    struct symbi_cron_desc d;
    if (symbi_cron_describe(a.expr, a.tz, &a.opts, from, &d, &err) != 0)
        d.text[0] = '\0';
    if (strcmp(a.format, "json") == 0) {
        rc = print_json(&a, z, t, n, &d);
    } else {
        printf("%s\n", d.text);
        for (int i = 0; i < n; i++) {
            char utc[SYMBI_TIME_STRLEN], local[48];
            symbi_time_fmt(t[i], utc);
            local_fmt(t[i], symbi_zone_offset(z, t[i]), false, local, sizeof local);
            printf("%s  %s\n", utc, local);
        }
        for (size_t i = 0; i < d.n_notes; i++)
            printf("DST: %s\n", d.notes[i]);
        if (n == 0)
            fprintf(stderr, "symbi: no fire instants after %s\n", a.from ? a.from : "now");
        rc = SYMBI_EXIT_OK;
    }
    symbi_cron_free(c);
    symbi_buf_cleanup(&expr);
    return rc;
}

const char symbi_cli_cron_next_usage[] =
    "usage: symbi cron next EXPR [--tz ZONE] [--from RFC3339] [--count N] [--format table|json]\n"
    "                            [--dst-gap shift|skip] [--dst-overlap auto|first|last|both]\n"
    "  Prints the expression in words, then the next fire instants of it, strictly after\n"
    "  --from (default now): one line per instant, `UTC-instant  local-time  offset`,\n"
    "  then `DST: ...` for each DST change of the year after --from that it meets.\n"
    "  --tz ZONE        IANA time zone (default UTC)\n"
    "  --from T         start instant, RFC 3339 (default now)\n"
    "  --count N        how many instants, 1-1000 (default 5)\n"
    "  --format F       table (default) or json\n"
    "  --dst-gap G      a local time skipped by DST: shift (fire after the gap) or skip\n"
    "  --dst-overlap O  a repeated local time: auto (default), first, last or both\n";

static const struct symbi_cli_cmd next_cmd = {
    "next",
    symbi_cli_cmd_cron_next,
    "preview the next fire instants of a cron expression",
    symbi_cli_cron_next_usage,
};

static const struct symbi_cli_cmd *self(void)
{
    return &next_cmd;
}
