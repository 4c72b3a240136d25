/* cmd_dsl.c - `symbi dsl check [--format text|json] FILE...`: parses and
 * validates .symbi files, printing diagnostics or the parsed definitions. */
#include "cli/cli.h"

#include "symbi/dsl.h"
#include "symbi/json.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const struct symbi_cli_cmd *dsl_row(void)
{
    for (size_t i = 0; i < symbi_cli_n_commands; i++)
        if (strcmp(symbi_cli_commands[i].name, "dsl") == 0)
            return &symbi_cli_commands[i];
    return NULL;
}

static void print_diags(const struct symbi_dsl_file *f)
{
    char line[1024];
    for (size_t i = 0; i < f->n_diags; i++)
        fprintf(stderr, "%s\n", symbi_dsl_diag_fmt(&f->diags[i], line, sizeof line));
}

/* {"file", "ok", "agents", "schedules", "diagnostics"} for one file. */
static json_t *file_json(const struct symbi_dsl_file *f)
{
    json_t *o = json_object(), *agents = json_array(), *jobs = json_array(), *diags = json_array();
    if (o == NULL || agents == NULL || jobs == NULL || diags == NULL)
        goto oom;
    json_object_set_new(o, "file", json_string(f->path));
    json_object_set_new(o, "ok", json_boolean(f->n_errors == 0));
    json_object_set(o, "agents", agents);
    json_object_set(o, "schedules", jobs);
    json_object_set(o, "diagnostics", diags);
    for (size_t i = 0; i < f->n_agents; i++) {
        json_t *a = symbi_agent_def_to_json(&f->agents[i]);
        if (a == NULL || json_array_append_new(agents, a) != 0)
            goto oom;
    }
    for (size_t i = 0; i < f->n_jobs; i++) {
        json_t *j = symbi_job_to_json(&f->jobs[i], false);
        if (j == NULL || json_array_append_new(jobs, j) != 0)
            goto oom;
    }
    for (size_t i = 0; i < f->n_diags; i++) {
        const struct symbi_dsl_diag *d = &f->diags[i];
        json_t *dj =
            json_pack("{s:s, s:i, s:i, s:s, s:s}", "file", d->file, "line", d->line, "col", d->col,
                      "severity", d->severity == SYMBI_DSL_WARNING ? "warning" : "error", "message",
                      d->message);
        if (dj == NULL || json_array_append_new(diags, dj) != 0)
            goto oom;
    }
    json_decref(agents);
    json_decref(jobs);
    json_decref(diags);
    return o;
oom:
    json_decref(o);
    json_decref(agents);
    json_decref(jobs);
    json_decref(diags);
    return NULL;
}

static int dsl_check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (c == 'f' && strcmp(optarg, "json") == 0)
            json = true;
        else if (c == 'f' && strcmp(optarg, "text") == 0)
            json = false;
        else if (c == 'f')
            return symbi_cli_usage(dsl_row(), "unknown format '%s' (text or json)", optarg);
        else
            return symbi_cli_usage(dsl_row(), "bad option for 'dsl check'");
    }
    if (optind >= argc)
        return symbi_cli_usage(dsl_row(), "dsl check needs at least one FILE");
    /* checked together, as `symbi up` loads a directory: named policies of
     * one file serve the others */
    size_t n = (size_t)(argc - optind);
    struct symbi_dsl_file *files = calloc(n, sizeof *files);
    int *rcs = calloc(n, sizeof *rcs);
    if (files == NULL || rcs == NULL ||
        symbi_dsl_parse_files((const char *const *)(argv + optind), n, files, rcs) != 0) {
        for (size_t i = 0; files != NULL && i < n; i++)
            symbi_dsl_file_cleanup(&files[i]);
        free(files);
        free(rcs);
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory");
    }
    int status = SYMBI_EXIT_OK;
    for (size_t i = 0; i < n; i++) {
        struct symbi_dsl_file *f = &files[i];
        int rc = rcs[i];
        if (rc == SYMBI_ENOMEM) {
            status = symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory");
            break;
        }
        if (rc != 0)
            status = SYMBI_EXIT_ERROR;
        print_diags(f);
        if (json) {
            json_t *o = file_json(f);
            if (o == NULL) {
                status = symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory");
                break;
            }
            json_dumpf(o, stdout, JSON_INDENT(2));
            fputc('\n', stdout);
            json_decref(o);
        } else if (rc == 0) {
            printf("%s: ok (%zu agent%s, %zu schedule%s)\n", f->path, f->n_agents,
                   f->n_agents == 1 ? "" : "s", f->n_jobs, f->n_jobs == 1 ? "" : "s");
        } else {
            fprintf(stderr, "%s: %zu error%s\n", f->path, f->n_errors, f->n_errors == 1 ? "" : "s");
        }
    }
    for (size_t i = 0; i < n; i++)
        symbi_dsl_file_cleanup(&files[i]);
    free(files);
    free(rcs);
    return status;
}

static int cmd_check(struct symbi_cli *cli, int argc, char **argv)
{
    (void)cli;
    return dsl_check(argc, argv);
}

static const struct symbi_cli_cmd dsl_commands[] = {
    {"check", cmd_check, "parse and validate .symbi files",
     "usage: symbi dsl check [--format text|json] FILE...\n"},
};

int symbi_cli_cmd_dsl(struct symbi_cli *cli, int argc, char **argv)
{
    return symbi_cli_dispatch(cli, dsl_commands, SYMBI_ARRAY_LEN(dsl_commands), "symbi dsl",
                              argc - 1, argv + 1);
}
