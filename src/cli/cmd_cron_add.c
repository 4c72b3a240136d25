/* cmd_cron_add.c - `symbi cron add`: a job from API-style JSON (created; a
 * taken name is refused, as in the API), or the schedules of a .symbi file
 * (upserted by name, with the file's agents, all in one transaction). */
#include "cli/cli_out.h"

#include "symbi/agent.h"
#include "symbi/dsl.h"
#include "symbi/json.h"
#include "symbi/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define ACTOR        "cli"
#define ADD_JSON_MAX (1024 * 1024) /* bytes of --json, as the API's body limit */

const char symbi_cli_cron_add_usage[] =
    "usage: symbi cron add --json '{...}' [--format table|json]\n"
    "       symbi cron add --file F.symbi [--schedule NAME] [--format table|json]\n"
    "  --json OBJ       create a job from the API's fields (name, agent_id, cron_expr or at,\n"
    "                   timezone, session_mode, delivery, ...); a name already taken is refused\n"
    "  --file F         add or update (by name) every schedule of F, and register its agents;\n"
    "                   files are declarative: adding a file again updates its jobs in place\n"
    "  --schedule NAME  only the schedule NAME of the file\n"
    "  --format F       table (default: one line per job) or json (the jobs as stored)\n"
    "  Nothing is written unless everything is valid.\n";

static const struct symbi_cli_cmd self = {"add", NULL, "", symbi_cli_cron_add_usage};

static void print_job_line(const char *verb, const struct symbi_job *job)
{
    char next[40];
    if (job->next_run != SYMBI_TIME_NONE)
        printf("%s job '%s' (%s); next run %s\n", verb, job->name, job->id,
               symbi_cli_time(job->next_run, false, next));
    else
        printf("%s job '%s' (%s); status %s\n", verb, job->name, job->id,
               symbi_job_status_name(job->status));
}

static int add_json(struct symbi_cli *cli, const char *text, enum symbi_cli_format fmt)
{
    if (strlen(text) > ADD_JSON_MAX)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "--json: the job is larger than %d bytes",
                              ADD_JSON_MAX);
    json_error_t jerr;
    json_t *obj = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (obj == NULL)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "--json: bad JSON at line %d column %d: %s",
                              jerr.line, jerr.column, jerr.text);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "--json: the job must be a JSON object");
    }
    struct symbi_job job;
    symbi_job_init(&job);
    struct symbi_err err = {0};
    const char *bad = NULL;
    int rc = SYMBI_EXIT_OK;
    if (symbi_job_apply_json(&job, obj, &bad, &err) != 0 || symbi_job_validate(&job, &err) != 0) {
        rc = symbi_cli_fail(SYMBI_EXIT_ERROR, "--json: %s", err.msg);
        goto out;
    }
    if (symbi_set_str(&job.source, "cli") != 0) {
        rc = symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory");
        goto out;
    }
    /* the store is opened only for valid input */
    struct symbi_store *st = NULL;
    if ((rc = symbi_cli_open_store(cli, &st)) != 0)
        goto out;
    int crc = symbi_store_job_create(st, &job, symbi_now_wall_ms(), ACTOR, &err);
    symbi_store_close(st);
    if (crc != 0) {
        rc = symbi_cli_store_fail(&err);
        goto out;
    }
    if (fmt == SYMBI_FMT_JSON)
        rc = symbi_cli_print_json(symbi_job_to_json(&job, true));
    else
        print_job_line("Created", &job);
out:
    symbi_job_cleanup(&job);
    json_decref(obj);
    return rc;
}

static void print_diags(const struct symbi_dsl_file *f)
{
    for (size_t i = 0; i < f->n_diags; i++) {
        char line[1024];
        fprintf(stderr, "%s\n", symbi_dsl_diag_fmt(&f->diags[i], line, sizeof line));
    }
}

/* Upserts the chosen jobs and every agent of f in one transaction. */
static int apply_file(struct symbi_store *st, struct symbi_dsl_file *f, const char *only,
                      enum symbi_cli_format fmt)
{
    struct symbi_err err = {0};
    int64_t now = symbi_now_wall_ms();
    bool *created = calloc(f->n_jobs + 1, sizeof *created);
    if (created == NULL)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory");
    /* SPEC §6.5: a sandbox this host cannot apply is refused, nothing added */
    for (size_t i = 0; i < f->n_agents; i++) {
        if (symbi_agent_def_check_sandbox(&f->agents[i], NULL, &err) != 0) {
            free(created);
            return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s: nothing added: agent %s: %s", f->path,
                                  f->agents[i].name, err.msg);
        }
    }
    /* all or nothing: no savepoint per job (a failure rolls the file back) */
    int rc = symbi_store_begin_atomic(st, &err);
    for (size_t i = 0; rc == 0 && i < f->n_agents; i++)
        rc = symbi_store_agent_upsert(st, &f->agents[i], now, &err);
    /* the file's jobs in one call: the store writes new ones in batches */
    if (rc == 0 && only == NULL)
        rc = symbi_store_job_upsert_many(st, f->jobs, f->n_jobs, now, ACTOR, created, &err);
    for (size_t i = 0; rc == 0 && only != NULL && i < f->n_jobs; i++) {
        if (strcmp(f->jobs[i].name, only) == 0)
            rc = symbi_store_job_upsert(st, &f->jobs[i], now, ACTOR, &created[i], &err);
    }
    if (rc == 0)
        rc = symbi_store_commit(st, &err);
    else
        symbi_store_rollback(st);
    if (rc != 0) {
        free(created);
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s: nothing added: %s", f->path, err.msg);
    }
    json_t *arr = fmt == SYMBI_FMT_JSON ? json_array() : NULL;
    for (size_t i = 0; i < f->n_jobs; i++) {
        const struct symbi_job *j = &f->jobs[i];
        if (only != NULL && strcmp(j->name, only) != 0)
            continue;
        if (arr != NULL)
            json_array_append_new(arr, symbi_job_to_json(j, true));
        else
            print_job_line(created[i]             ? "Created"
                           : j->updated_at == now ? "Updated"
                                                  : "Unchanged",
                           j);
    }
    free(created);
    if (arr != NULL)
        return symbi_cli_print_json(arr);
    for (size_t i = 0; i < f->n_agents; i++)
        printf("Registered agent '%s'\n", f->agents[i].name);
    return SYMBI_EXIT_OK;
}

static int add_file(struct symbi_cli *cli, const char *path, const char *only,
                    enum symbi_cli_format fmt)
{
    struct symbi_dsl_file f;
    int prc = symbi_dsl_parse_file(path, &f);
    print_diags(&f);
    int rc = SYMBI_EXIT_OK;
    if (prc != 0) {
        rc = symbi_cli_fail(SYMBI_EXIT_ERROR, "%s: %zu error%s; nothing added", path,
                            f.n_errors ? f.n_errors : 1, f.n_errors == 1 ? "" : "s");
        goto out;
    }
    if (only != NULL && symbi_dsl_find_job(&f, only) == NULL) {
        struct symbi_buf names;
        symbi_buf_init(&names, 4096);
        for (size_t i = 0; i < f.n_jobs; i++)
            symbi_buf_printf(&names, "%s%s", i ? ", " : "", f.jobs[i].name);
        rc = symbi_cli_fail(SYMBI_EXIT_ERROR, "%s has no schedule named \"%s\" (it has: %s)", path,
                            only, f.n_jobs ? symbi_buf_str(&names) : "none");
        symbi_buf_cleanup(&names);
        goto out;
    }
    if (f.n_jobs == 0 && f.n_agents == 0) {
        rc = symbi_cli_fail(SYMBI_EXIT_ERROR, "%s defines no schedules or agents", path);
        goto out;
    }
    struct symbi_store *st = NULL;
    if ((rc = symbi_cli_open_store(cli, &st)) != 0)
        goto out;
    rc = apply_file(st, &f, only, fmt);
    symbi_store_close(st);
out:
    symbi_dsl_file_cleanup(&f);
    return rc;
}

int symbi_cli_cmd_cron_add(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", required_argument, NULL, 'j'},
        {"file", required_argument, NULL, 'f'},
        {"schedule", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    const char *json = NULL, *file = NULL, *schedule = NULL;
    enum symbi_cli_format fmt = SYMBI_FMT_TABLE;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = optarg;
            break;
        case 'f':
            file = optarg;
            break;
        case 's':
            schedule = optarg;
            break;
        case 'o':
            if (symbi_cli_format_parse(optarg, &fmt) != 0 || fmt == SYMBI_FMT_CSV)
                return symbi_cli_usage(&self, "unknown format '%s' (table, json)", optarg);
            break;
        default:
            return symbi_cli_bad_option(&self, argc, argv);
        }
    }
    if (optind < argc)
        return symbi_cli_usage(&self, "unexpected argument '%s'", argv[optind]);
    if ((json == NULL) == (file == NULL))
        return symbi_cli_usage(&self, "give exactly one of --json and --file");
    if (schedule != NULL && file == NULL)
        return symbi_cli_usage(&self, "--schedule goes with --file");
    return json != NULL ? add_json(cli, json, fmt) : add_file(cli, file, schedule, fmt);
}
