/* up_load.c - `symbi up`'s agents directory: every .symbi file under it is
 * parsed and its agents and schedules upserted by name; bad files are
 * reported and skipped; schedules gone from the files are paused. */
#include "cli/up_load.h"

#include "symbi/agent.h"
#include "symbi/dsl.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILES 10000
#define MAX_DEPTH 8
#define PAGE      1000

struct strlist {
    char **v;
    size_t n, cap;
};

static int strlist_add(struct strlist *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        char **v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return SYMBI_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    if ((l->v[l->n] = symbi_strdup(s)) == NULL)
        return SYMBI_ENOMEM;
    l->n++;
    return 0;
}

static bool strlist_has(const struct strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

static void strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void find_files(const char *dir, int depth, struct strlist *out)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "cannot read the agents directory %s", dir);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL && out->n < MAX_FILES) {
        if (e->d_name[0] == '.')
            continue;
        struct symbi_buf p;
        symbi_buf_init(&p, 4096);
        if (symbi_buf_printf(&p, "%s/%s", dir, e->d_name) != 0) {
            symbi_buf_cleanup(&p);
            continue;
        }
        struct stat st;
        if (stat(p.data, &st) == 0) {
            if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH)
                find_files(p.data, depth + 1, out);
            else if (S_ISREG(st.st_mode) && ends_with(e->d_name, ".symbi"))
                strlist_add(out, p.data);
        }
        symbi_buf_cleanup(&p);
    }
    closedir(d);
}

/* Loads one parsed file; false when it was skipped. */
static bool load_file(struct symbi_store *st, struct symbi_dsl_file *f, const char *default_sb,
                      int64_t now, struct strlist *names)
{
    char line[1024];
    for (size_t i = 0; i < f->n_diags; i++)
        symbi_log(f->diags[i].severity == SYMBI_DSL_ERROR ? SYMBI_LOG_ERROR : SYMBI_LOG_WARN,
                  "scheduler", "%s", symbi_dsl_diag_fmt(&f->diags[i], line, sizeof line));
    if (f->n_errors > 0) {
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "skipped %s: %zu error(s)", f->path, f->n_errors);
        return false;
    }
    struct symbi_err err;
    /* SPEC §6.5: a sandbox the daemon cannot apply is refused at load */
    for (size_t i = 0; i < f->n_agents; i++) {
        if (symbi_agent_def_check_sandbox(&f->agents[i], default_sb, &err) != 0) {
            symbi_log(SYMBI_LOG_ERROR, "scheduler", "skipped %s: agent %s: %s", f->path,
                      f->agents[i].name, err.msg);
            return false;
        }
    }
    /* one transaction per file (each upsert a savepoint in it) */
    bool grouped = symbi_store_begin(st, &err) == 0;
    for (size_t i = 0; i < f->n_agents; i++)
        if (symbi_store_agent_upsert(st, &f->agents[i], now, &err) != 0)
            symbi_log(SYMBI_LOG_ERROR, "scheduler", "agent %s from %s: %s", f->agents[i].name,
                      f->path, err.msg);
    /* the file's schedules in one call (the store writes new ones in
     * batches); when one of them fails, each again alone, so that the
     * others load and the failure is logged with its name */
    bool *made = f->n_jobs > 1 ? calloc(f->n_jobs, sizeof *made) : NULL;
    bool batched = made != NULL &&
                   symbi_store_job_upsert_many(st, f->jobs, f->n_jobs, now, "dsl", made, &err) == 0;
    for (size_t i = 0; i < f->n_jobs; i++) {
        bool created = batched && made[i];
        struct symbi_job *j = &f->jobs[i];
        strlist_add(names, j->name);
        if (!batched && symbi_store_job_upsert(st, j, now, "dsl", &created, &err) != 0) {
            symbi_log(SYMBI_LOG_ERROR, "scheduler", "schedule %s from %s: %s", j->name, f->path,
                      err.msg);
            continue;
        }
        char next[SYMBI_TIME_STRLEN];
        symbi_log(SYMBI_LOG_INFO, "scheduler", "schedule %s name=%s status=%s next_run=%s",
                  created ? "created" : "loaded", j->name, symbi_job_status_name(j->status),
                  symbi_time_fmt(j->next_run, next));
    }
    free(made);
    if (grouped && symbi_store_commit(st, &err) != 0)
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "loading %s: %s", f->path, err.msg);
    return true;
}

/* Pauses active file-defined schedules that no loaded file defines. */
static void pause_removed(struct symbi_store *st, const struct strlist *names,
                          const struct strlist *bad, int64_t now)
{
    struct symbi_job_filter flt = {.has_status = true, .status = SYMBI_JOB_ACTIVE, .limit = PAGE};
    struct strlist to_pause = {0};
    for (int64_t off = 0;; off += PAGE) {
        struct symbi_job *jobs = NULL;
        size_t n = 0;
        struct symbi_err err;
        flt.offset = off;
        if (symbi_store_job_list(st, &flt, &jobs, &n, &err) != 0) {
            symbi_log(SYMBI_LOG_ERROR, "scheduler", "listing schedules: %s", err.msg);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            const char *src = jobs[i].source;
            if (src == NULL || strncmp(src, "dsl:", 4) != 0 || strlist_has(names, jobs[i].name) ||
                strlist_has(bad, src + 4))
                continue;
            strlist_add(&to_pause, jobs[i].id);
            symbi_log(SYMBI_LOG_WARN, "scheduler",
                      "schedule %s is no longer in the agents files (was %s): paused", jobs[i].name,
                      src + 4);
        }
        symbi_job_list_free(jobs, n);
        if (n < PAGE)
            break;
    }
    for (size_t i = 0; i < to_pause.n; i++) {
        struct symbi_err err;
        if (symbi_store_job_set_status(st, to_pause.v[i], SYMBI_JOB_PAUSED, now, "dsl", &err) != 0)
            symbi_log(SYMBI_LOG_ERROR, "scheduler", "pausing %s: %s", to_pause.v[i], err.msg);
    }
    strlist_free(&to_pause);
}

int symbi_cli_up_load_agents(struct symbi_store *st, const char *dir, const char *default_sandbox,
                             int64_t now)
{
    struct strlist files = {0}, names = {0}, bad = {0};
    find_files(dir, 0, &files);
    if (files.n > 0)
        qsort(files.v, files.n, sizeof *files.v, cmp_str);
    int loaded = 0;
    /* parsed together: a named policy of one file serves the others */
    struct symbi_dsl_file *parsed = files.n > 0 ? calloc(files.n, sizeof *parsed) : NULL;
    int *rcs = files.n > 0 ? calloc(files.n, sizeof *rcs) : NULL;
    if (files.n > 0 &&
        (parsed == NULL || rcs == NULL ||
         symbi_dsl_parse_files((const char *const *)files.v, files.n, parsed, rcs) != 0)) {
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "agents directory %s: out of memory", dir);
        for (size_t i = 0; rcs != NULL && i < files.n; i++)
            rcs[i] = SYMBI_ENOMEM;
    }
    for (size_t i = 0; i < files.n && parsed != NULL && rcs != NULL; i++) {
        if (rcs[i] == SYMBI_ENOMEM) {
            symbi_log(SYMBI_LOG_ERROR, "scheduler", "skipped %s: out of memory", files.v[i]);
            strlist_add(&bad, files.v[i]);
        } else if (load_file(st, &parsed[i], default_sandbox, now, &names)) {
            loaded++;
        } else {
            strlist_add(&bad, files.v[i]);
        }
        symbi_dsl_file_cleanup(&parsed[i]);
    }
    free(parsed);
    free(rcs);
    pause_removed(st, &names, &bad, now);
    symbi_log(SYMBI_LOG_INFO, "scheduler", "agents directory %s: %d file(s) loaded, %zu skipped",
              dir, loaded, bad.n);
    strlist_free(&files);
    strlist_free(&names);
    strlist_free(&bad);
    return loaded;
}
