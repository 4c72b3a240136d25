/* common.c - the backend-neutral steps of the store (common.h) that both
 * backends run around their own SQL: reference resolution, fire plans,
 * retention cut, the give-back loop (its writes are the backend's), the
 * transaction levels. */
#include "store/common.h"
#include "store/rules.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

bool symbi_common_id_like(const char *ref, size_t len, char low[SYMBI_UUID_LEN + 1])
{
    if (len > SYMBI_UUID_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = ref[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-'))
            return false;
        low[i] = c;
    }
    low[len] = '\0';
    return true;
}

void symbi_common_prefix_hi(const char *low, size_t len, char hi[SYMBI_UUID_LEN + 2])
{
    memcpy(hi, low, len);
    hi[len] = '~';
    hi[len + 1] = '\0';
}

int symbi_common_resolve_end(const char *what, const char *ref, bool idish, size_t len, int rows,
                             const char *first, const char *second, char id[SYMBI_UUID_LEN + 1],
                             struct symbi_err *err)
{
    if (rows == 1) {
        memcpy(id, first, SYMBI_UUID_LEN + 1);
        return 0;
    }
    if (rows > 1)
        return symbi_err_set(err, SYMBI_EAMBIGUOUS,
                             "%s id prefix \"%s\" is ambiguous: it matches %s and %s", what, ref,
                             first, second);
    if (idish && len < 8)
        return symbi_err_set(err, SYMBI_ENOTFOUND,
                             "no %s \"%s\" (an id prefix needs at least 8 characters)", what, ref);
    return symbi_err_set(err, SYMBI_ENOTFOUND, "no %s \"%s\"", what, ref);
}

void symbi_common_plan_clamp(struct symbi_fire_plan *p)
{
    if (p->n_runs > SYMBI_PLAN_MAX_RUNS)
        p->n_runs = SYMBI_PLAN_MAX_RUNS;
}

void symbi_common_plan_reset(struct symbi_fire_plan *p, const struct symbi_job *job, bool all)
{
    size_t used = all ? SYMBI_PLAN_MAX_RUNS : p->n_runs + 1;
    if (used > SYMBI_PLAN_MAX_RUNS)
        used = SYMBI_PLAN_MAX_RUNS;
    for (size_t i = 0; i < used; i++)
        symbi_run_cleanup(&p->runs[i]);
    p->n_runs = 0;
    p->next_run = SYMBI_TIME_NONE;
    p->status = job ? job->status : SYMBI_JOB_ACTIVE;
}

int symbi_common_plan_run_fill(struct symbi_run *r, const struct symbi_job *job, const char *node,
                               int64_t now, int64_t epoch)
{
    r->id[0] = '\0';
    memcpy(r->job_id, job->id, sizeof r->job_id);
    if ((r->job_name == NULL && symbi_set_str(&r->job_name, job->name) != 0) ||
        (r->agent == NULL && symbi_set_str(&r->agent, job->agent) != 0) ||
        (r->node == NULL && symbi_set_str(&r->node, node) != 0) ||
        (r->input == NULL && job->input != NULL && symbi_set_str(&r->input, job->input) != 0))
        return SYMBI_ENOMEM;
    r->created_at = now;
    r->epoch = epoch;
    return 0;
}

int symbi_common_give_back_each(void *s, const struct symbi_common_give_back_ops *ops,
                                const struct symbi_run *runs, size_t n, const char *node,
                                size_t *given, size_t *released, struct symbi_err *err)
{
    size_t g = 0, rel = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct symbi_run *r = &runs[i];
        if (symbi_rules_fire_given_back(r)) {
            bool done = false;
            rc = ops->give(s, r, node, &done, err);
            g += done;
        } else {
            rc = ops->release(s, r, node, err);
            rel += rc == 0;
        }
    }
    *given = g;
    *released = rel;
    return rc;
}

int64_t symbi_common_prune_cut(const struct symbi_retention *r)
{
    return r->keep_runs_ms > 0 ? r->now - r->keep_runs_ms : INT64_MIN;
}

const struct symbi_audit_filter *symbi_common_audit_filter(const struct symbi_audit_filter *f)
{
    static const struct symbi_audit_filter none = {NULL, NULL, SYMBI_TIME_NONE, SYMBI_TIME_NONE, 0};
    return f != NULL ? f : &none;
}

int64_t symbi_common_audit_limit(const struct symbi_audit_filter *f)
{
    return f->limit > 0 ? f->limit : 100;
}

void symbi_common_audit_sql(const struct symbi_audit_filter *f, char mark, bool has_where,
                            char *sql, size_t len, size_t cap)
{
    /* '#' stands for the parameter mark */
    const char *parts[4];
    size_t np = 0;
    if (f->type != NULL)
        parts[np++] = "type = #1";
    if (f->job != NULL)
        parts[np++] = "(job_id = #2 OR job_name = #2)";
    if (f->since != SYMBI_TIME_NONE)
        parts[np++] = "at >= #3";
    if (f->until != SYMBI_TIME_NONE)
        parts[np++] = "at < #4";
    char text[160];
    for (size_t i = 0; i <= np; i++) {
        const char *join = i == np ? " " : i == 0 && !has_where ? " WHERE " : " AND ";
        const char *part = i == np ? "ORDER BY at DESC, id DESC LIMIT #5" : parts[i];
        size_t k = 0;
        for (const char *c = join; *c != '\0' && k < sizeof text - 1; c++)
            text[k++] = *c;
        for (const char *c = part; *c != '\0' && k < sizeof text - 1; c++)
            text[k++] = *c == '#' ? mark : *c;
        text[k] = '\0';
        if (len < cap)
            len += (size_t)snprintf(sql + len, cap - len, "%s", text);
    }
}

void symbi_common_jobs_clear_ids(struct symbi_job *jobs, size_t n)
{
    for (size_t k = 0; k < n; k++)
        jobs[k].id[0] = '\0';
}

enum symbi_common_step symbi_common_level_step(struct symbi_common_levels *l,
                                               enum symbi_common_level_op op)
{
    bool joined = l->depth > 0 && l->atomic; /* inside an all-or-nothing one */
    switch (op) {
    case SYMBI_LEVEL_BEGIN:
    case SYMBI_LEVEL_BEGIN_ATOMIC:
        if (joined) {
            l->depth++; /* joins the caller's all-or-nothing transaction */
            return SYMBI_STEP_DONE;
        }
        /* inside a caller's transaction: a savepoint, so that this level
         * can fail alone */
        return l->depth > 0 ? SYMBI_STEP_SAVEPOINT : SYMBI_STEP_OUTER;
    case SYMBI_LEVEL_COMMIT:
        if (l->depth > 1 && joined) {
            l->depth--;
            return SYMBI_STEP_DONE;
        }
        if (l->depth > 1)
            return SYMBI_STEP_SAVEPOINT;
        if (l->depth == 0)
            return SYMBI_STEP_NONE;
        return l->spoiled ? SYMBI_STEP_SPOILED : SYMBI_STEP_OUTER;
    case SYMBI_LEVEL_ROLLBACK:
        if (l->depth > 1 && joined) {
            l->spoiled = true; /* no savepoint to go back to: the outer commit refuses */
            l->depth--;
            return SYMBI_STEP_DONE;
        }
        return l->depth > 1 ? SYMBI_STEP_SAVEPOINT : SYMBI_STEP_OUTER;
    }
    return SYMBI_STEP_NONE;
}

void symbi_common_level_done(struct symbi_common_levels *l, enum symbi_common_level_op op,
                             enum symbi_common_step step)
{
    bool begin = op == SYMBI_LEVEL_BEGIN || op == SYMBI_LEVEL_BEGIN_ATOMIC;
    if (step == SYMBI_STEP_SAVEPOINT) {
        l->depth += begin ? 1 : -1;
    } else if (step == SYMBI_STEP_OUTER && begin) {
        l->depth = 1;
        l->atomic = op == SYMBI_LEVEL_BEGIN_ATOMIC;
        l->spoiled = false;
    } else if (step == SYMBI_STEP_OUTER) {
        l->depth = 0;
    }
}

void symbi_common_jobs_unmake(struct symbi_job *jobs, bool *created, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (created[i])
            jobs[i].id[0] = '\0';
        created[i] = false;
    }
}
