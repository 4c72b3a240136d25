/* cmd_cron_describe.c - `symbi cron describe EXPR [--tz ZONE]`: the
 * expression in English and the DST changes of the coming year it meets. */
#include "cli/cli.h"
#include "cli/cli_out.h"
#include "symbi/cron.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

const char symbi_cli_cron_describe_usage[] =
    "usage: symbi cron describe EXPR [--tz ZONE] [--format text|json]\n"
    "                           [--dst-gap shift|skip] [--dst-overlap auto|first|last|both]\n"
    "  Prints the expression in words (\"At 09:00, Monday through Friday (UTC)\"), then\n"
    "  one line per DST change of the zone in the coming year that the expression meets.\n"
    "  --tz ZONE        IANA time zone (default UTC)\n"
    "  --format F       text (default) or json ({\"expr\",\"timezone\",\"description\",\n"
    "                   \"dst_notes\"})\n"
    "  --dst-gap G      the job's dst_gap, for the notes\n"
    "  --dst-overlap O  the job's dst_overlap, for the notes\n";

static const struct symbi_cli_cmd describe_cmd = {"describe", symbi_cli_cmd_cron_describe,
                                                  "an expression in words",
                                                  symbi_cli_cron_describe_usage};

int symbi_cli_cmd_cron_describe(struct symbi_cli *cli, int argc, char **argv)
{
    (void)cli;
    const char *tz = "UTC";
    bool json = false;
    struct symbi_cron_opts opts = {.every_anchor_ms = SYMBI_TIME_NONE};
    struct symbi_buf expr;
    symbi_buf_init(&expr, SYMBI_CRON_MAX_LEN);
    int rc = SYMBI_EXIT_OK;
    for (int i = 1; i < argc && rc == SYMBI_EXIT_OK; i++) {
        const char *a = argv[i], *v = NULL;
        if (a[0] == '-' && a[1] != '\0' && strcmp(a, "--") != 0) {
            if (i + 1 >= argc)
                rc = symbi_cli_usage(&describe_cmd, "option '%s' needs a value", a);
            else
                v = argv[++i];
            if (rc != SYMBI_EXIT_OK)
                break;
            if (strcmp(a, "--tz") == 0)
                tz = v;
            else if (strcmp(a, "--format") == 0 &&
                     (strcmp(v, "text") == 0 || strcmp(v, "json") == 0))
                json = strcmp(v, "json") == 0;
            else if (strcmp(a, "--dst-gap") == 0 && symbi_dst_gap_parse(v, &opts.gap) == 0)
                ;
            else if (strcmp(a, "--dst-overlap") == 0 &&
                     symbi_dst_overlap_parse(v, &opts.overlap) == 0)
                ;
            else
                rc = symbi_cli_usage(&describe_cmd, "bad option '%s %s'", a, v);
            continue;
        }
        if (strcmp(a, "--") == 0)
            continue;
        if ((expr.len > 0 && symbi_buf_putc(&expr, ' ') != 0) || symbi_buf_puts(&expr, a) != 0)
            rc = symbi_cli_fail(SYMBI_EXIT_ERROR, "cron: expression longer than %d characters",
                                SYMBI_CRON_MAX_LEN);
    }
    if (rc == SYMBI_EXIT_OK && expr.len == 0)
        rc = symbi_cli_usage(&describe_cmd, "missing the cron expression");
    if (rc != SYMBI_EXIT_OK) {
        symbi_buf_cleanup(&expr);
        return rc;
    }
    struct symbi_cron_desc d;
    struct symbi_err err = {0};
    if (symbi_cron_describe(symbi_buf_str(&expr), tz, &opts, symbi_now_wall_ms(), &d, &err) != 0) {
        symbi_buf_cleanup(&expr);
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
    }
    if (json) {
        json_t *notes = json_array();
        for (size_t i = 0; i < d.n_notes; i++)
            json_array_append_new(notes, json_string(d.notes[i]));
        rc = symbi_cli_print_json(json_pack("{s:s,s:s,s:s,s:o}", "expr", symbi_buf_str(&expr),
                                            "timezone", tz, "description", d.text, "dst_notes",
                                            notes));
    } else {
        puts(d.text);
        for (size_t i = 0; i < d.n_notes; i++)
            printf("DST: %s\n", d.notes[i]);
    }
    symbi_buf_cleanup(&expr);
    return rc;
}
