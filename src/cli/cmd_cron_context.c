/* cmd_cron_context.c - `symbi cron context <job> [--clear] [--format F]`:
 * shows a job's session context as its next run would see it (SPEC §6.3),
 * or clears it (the history goes to the archive, nothing is deleted). */
#include "cli/cli_out.h"

#include "symbi/exec.h"
#include "symbi/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define EXCERPT 72

const char symbi_cli_cron_context_usage[] =
    "usage: symbi cron context <job> [--clear] [--format table|json]\n"
    "  Shows the job's session context: what SYMBI_CONTEXT_FILE will hold on its\n"
    "  next run (mode, the carried summary, the live shared_persistent history)\n"
    "  and how many history entries are in the archive.\n"
    "  --clear       clear it: the summary goes and the live history entries move\n"
    "                to the archive (kept in the store until the job is removed)\n"
    "  --format F    table (default) or json (the file's object plus job_id,\n"
    "                job_name, bytes, live_entries, archived_entries)\n";

/* one line of text, control characters as spaces, at most EXCERPT bytes */
static void excerpt(const char *s, char out[EXCERPT + 4])
{
    size_t n = 0;
    for (; s != NULL && s[n] != '\0' && n < EXCERPT; n++)
        out[n] = (unsigned char)s[n] < 0x20 ? ' ' : s[n];
    out[n] = '\0';
    if (s != NULL && s[n] != '\0')
        memcpy(out + n, "...", 4);
}

static void print_context(json_t *o)
{
    const char *sum = json_string_value(json_object_get(o, "summary"));
    printf("Job:       %s (%s)\n", json_string_value(json_object_get(o, "job_name")),
           json_string_value(json_object_get(o, "job_id")));
    printf("Mode:      %s\n", json_string_value(json_object_get(o, "mode")));
    printf("Summary:   %s\n", sum != NULL ? sum : "-");
    json_t *hist = json_object_get(o, "history");
    printf("History:   %zu live entries, %lld bytes; %lld archived\n", json_array_size(hist),
           (long long)json_integer_value(json_object_get(o, "bytes")),
           (long long)json_integer_value(json_object_get(o, "archived_entries")));
    size_t i;
    json_t *e;
    json_array_foreach(hist, i, e)
    {
        char in[EXCERPT + 4], out[EXCERPT + 4];
        excerpt(json_string_value(json_object_get(e, "input")), in);
        excerpt(json_string_value(json_object_get(e, "output")), out);
        printf("  %s  input: %s\n      output: %s\n", json_string_value(json_object_get(e, "at")),
               in, out);
    }
}

int symbi_cli_cmd_cron_context(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct symbi_cli_cmd self = {"context", NULL, "", symbi_cli_cron_context_usage};
    static const struct option opts[] = {
        {"clear", no_argument, NULL, 'c'},
        {"format", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    bool clear = false;
    enum symbi_cli_format fmt = SYMBI_FMT_TABLE;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'c')
            clear = true;
        else if (c == 'f') {
            if (symbi_cli_format_parse(optarg, &fmt) != 0 || fmt == SYMBI_FMT_CSV)
                return symbi_cli_usage(&self, "unknown format '%s' (table, json)", optarg);
        } else
            return symbi_cli_bad_option(&self, argc, argv);
    }
    if (optind + 1 != argc)
        return symbi_cli_usage(&self, "cron context needs exactly one job");
    struct symbi_store *st;
    if (symbi_cli_open_store(cli, &st) != 0)
        return SYMBI_EXIT_ERROR;
    struct symbi_err err = {0};
    struct symbi_job job;
    int code = SYMBI_EXIT_OK;
    if (symbi_store_job_get(st, argv[optind], &job, &err) != 0) {
        code = symbi_cli_store_fail(&err);
        symbi_store_close(st);
        return code;
    }
    if (clear) {
        int64_t live = 0, archived = 0;
        if (symbi_store_context_count(st, job.id, &live, &archived, &err) != 0 ||
            symbi_exec_context_clear(st, &job, symbi_now_wall_ms(), &err) != 0) {
            code = symbi_cli_store_fail(&err);
        } else if (fmt == SYMBI_FMT_JSON) {
            code = symbi_cli_print_json(json_pack("{s:s,s:s,s:b,s:I}", "job_id", job.id, "job_name",
                                                  job.name, "cleared", 1, "archived",
                                                  (json_int_t)live));
        } else {
            printf("Cleared the context of job '%s' (%lld history entries archived)\n", job.name,
                   (long long)live);
        }
    } else {
        json_t *o = symbi_exec_context_describe(st, &job, &err);
        if (o == NULL)
            code = symbi_cli_store_fail(&err);
        else if (fmt == SYMBI_FMT_JSON)
            code = symbi_cli_print_json(o);
        else {
            print_context(o);
            json_decref(o);
        }
    }
    symbi_job_cleanup(&job);
    symbi_store_close(st);
    return code;
}
