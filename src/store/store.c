/* store.c - the JobStore front: chooses the backend from the URL and
 * forwards each public operation through the backend's operation table;
 * also the list-freeing helpers shared by every backend. */
#include "store/common.h"
#include "store/rules.h"
#include "store/store_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int symbi_store_open(const char *url, struct symbi_store **out, struct symbi_err *err)
{
    if (url == NULL || *url == '\0')
        return symbi_err_set(err, SYMBI_EINVAL, "store: empty store URL");
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return symbi_pg_open(url, out, err);
    const char *path = url;
    if (strncmp(url, "sqlite://", 9) == 0)
        path = url + 9;
    else if (strncmp(url, "sqlite:", 7) == 0)
        path = url + 7;
    if (*path == '\0')
        return symbi_err_set(err, SYMBI_EINVAL, "store: no file name in \"%s\"", url);
    return symbi_sq_open(path, out, err);
}

void symbi_store_close(struct symbi_store *st)
{
    if (st != NULL)
        st->ops->close(st);
}

const char *symbi_store_backend(const struct symbi_store *st)
{
    return st->ops->name;
}

bool symbi_store_shared(const struct symbi_store *st)
{
    return st->ops->shared;
}

int symbi_store_check(struct symbi_store *st, struct symbi_err *err)
{
    return st->ops->check(st, err);
}

void symbi_store_set_lock_wait(struct symbi_store *st, int64_t ms)
{
    if (st->ops->set_lock_wait != NULL && ms > 0)
        st->ops->set_lock_wait(st, ms);
}

int symbi_store_prune(struct symbi_store *st, const struct symbi_retention *r, int64_t batch,
                      bool dry_run, struct symbi_prune_counts *out, struct symbi_err *err)
{
    memset(out, 0, sizeof *out);
    return st->ops->prune(st, r, batch > 0 ? batch : 500, dry_run, out, err);
}

int symbi_store_begin(struct symbi_store *st, struct symbi_err *err)
{
    return st->ops->tx_begin(st, err);
}

int symbi_store_begin_atomic(struct symbi_store *st, struct symbi_err *err)
{
    if (st->ops->tx_begin_atomic == NULL)
        return st->ops->tx_begin(st, err);
    return st->ops->tx_begin_atomic(st, err);
}

int symbi_store_commit(struct symbi_store *st, struct symbi_err *err)
{
    return st->ops->tx_commit(st, err);
}

void symbi_store_rollback(struct symbi_store *st)
{
    st->ops->tx_rollback(st);
}

int symbi_store_job_create(struct symbi_store *st, struct symbi_job *job, int64_t now,
                           const char *actor, struct symbi_err *err)
{
    return st->ops->job_create(st, job, now, actor, err);
}

int symbi_store_job_create_many(struct symbi_store *st, struct symbi_job *jobs, size_t n,
                                int64_t now, const char *actor, struct symbi_err *err)
{
    return st->ops->job_create_many(st, jobs, n, now, actor, err);
}

int symbi_store_job_upsert(struct symbi_store *st, struct symbi_job *job, int64_t now,
                           const char *actor, bool *created, struct symbi_err *err)
{
    /* the definition is checked once, above the backends */
    int rc = symbi_rules_job_check(job, err);
    if (rc != 0)
        return rc;
    return st->ops->job_upsert(st, job, now, actor, created, err);
}

int symbi_store_job_upsert_many(struct symbi_store *st, struct symbi_job *jobs, size_t n,
                                int64_t now, const char *actor, bool *created,
                                struct symbi_err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        created[i] = false;
        rc = symbi_rules_job_check(&jobs[i], err);
    }
    if (rc != 0)
        return rc;
    if (st->ops->job_upsert_many != NULL)
        return st->ops->job_upsert_many(st, jobs, n, now, actor, created, err);
    if ((rc = symbi_store_begin_atomic(st, err)) != 0)
        return rc;
    size_t i = 0;
    for (; rc == 0 && i < n; i++)
        rc = st->ops->job_upsert(st, &jobs[i], now, actor, &created[i], err);
    if (rc == 0)
        rc = symbi_store_commit(st, err); /* a failed commit has rolled back */
    else
        symbi_store_rollback(st);
    if (rc == 0)
        return 0;
    symbi_common_jobs_unmake(jobs, created, n);
    return rc;
}

int symbi_store_job_update(struct symbi_store *st, struct symbi_job *job, int64_t now,
                           const char *actor, struct symbi_err *err)
{
    int rc = symbi_rules_job_check(job, err);
    if (rc != 0)
        return rc;
    return st->ops->job_update(st, job, now, actor, err);
}

int symbi_store_job_get(struct symbi_store *st, const char *ref, struct symbi_job *out,
                        struct symbi_err *err)
{
    return st->ops->job_get(st, ref, out, err);
}

int symbi_store_job_delete(struct symbi_store *st, const char *id, const char *actor,
                           struct symbi_err *err)
{
    return st->ops->job_delete(st, id, actor, err);
}

int symbi_store_job_set_status(struct symbi_store *st, const char *id, enum symbi_job_status status,
                               int64_t now, const char *actor, struct symbi_err *err)
{
    return st->ops->job_set_status(st, id, status, now, actor, err);
}

int symbi_store_job_reset(struct symbi_store *st, const char *id, int64_t now, const char *actor,
                          struct symbi_err *err)
{
    return st->ops->job_reset(st, id, now, actor, err);
}

int symbi_store_job_list(struct symbi_store *st, const struct symbi_job_filter *f,
                         struct symbi_job **jobs, size_t *n, struct symbi_err *err)
{
    return st->ops->job_list(st, f, jobs, n, err);
}

void symbi_job_list_free(struct symbi_job *jobs, size_t n)
{
    if (jobs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        symbi_job_cleanup(&jobs[i]);
    free(jobs);
}

int symbi_store_job_counts(struct symbi_store *st, int64_t counts[5], struct symbi_err *err)
{
    return st->ops->job_counts(st, counts, err);
}

int symbi_store_next_due(struct symbi_store *st, int64_t *next, struct symbi_err *err)
{
    return st->ops->next_due(st, next, err);
}

int symbi_store_change_mark(struct symbi_store *st, int64_t *mark)
{
    return st->ops->change_mark(st, mark);
}

int symbi_store_claim_due(struct symbi_store *st, int64_t now, size_t limit, const char *node,
                          symbi_fire_planner plan, void *ud, struct symbi_run **runs, size_t *n,
                          struct symbi_err *err)
{
    return st->ops->claim_due(st, now, limit, node, plan, ud, runs, n, err);
}

int symbi_store_run_insert(struct symbi_store *st, struct symbi_run *run, struct symbi_err *err)
{
    /* the ledger rule is applied here, above the backends: each try is the
     * backend's own transaction (a savepoint inside the caller's), so a
     * collision leaves nothing behind on any backend */
    for (int tries = 0;; tries++) {
        int rc = st->ops->run_insert(st, run, err);
        if (rc != SYMBI_EEXIST || !symbi_rules_ledger_shift(run, tries))
            return rc;
        symbi_err_clear(err);
    }
}

int symbi_store_run_update(struct symbi_store *st, const struct symbi_run *run,
                           struct symbi_err *err)
{
    return st->ops->run_update(st, run, err);
}

int symbi_store_run_transition(struct symbi_store *st, const char *id, enum symbi_run_status from,
                               enum symbi_run_status to, int64_t now, struct symbi_err *err)
{
    return st->ops->run_transition(st, id, from, to, now, err);
}

int symbi_store_run_decide(struct symbi_store *st, const char *ref, bool approve,
                           const char *approver, const char *reason, int64_t now,
                           struct symbi_run *out, struct symbi_err *err)
{
    return st->ops->run_decide(st, ref, approve, approver, reason, now, out, err);
}

int symbi_store_run_get(struct symbi_store *st, const char *ref, struct symbi_run *out,
                        struct symbi_err *err)
{
    return st->ops->run_get(st, ref, out, err);
}

int symbi_store_run_list(struct symbi_store *st, const struct symbi_run_filter *f,
                         struct symbi_run **runs, size_t *n, struct symbi_err *err)
{
    return st->ops->run_list(st, f, runs, n, err);
}

void symbi_run_list_free(struct symbi_run *runs, size_t n)
{
    if (runs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        symbi_run_cleanup(&runs[i]);
    free(runs);
}

int symbi_store_run_count(struct symbi_store *st, const struct symbi_run_filter *f, int64_t *n,
                          struct symbi_err *err)
{
    return st->ops->run_count(st, f, n, err);
}

int symbi_store_claim_queued(struct symbi_store *st, int64_t now, size_t limit, const char *node,
                             struct symbi_run **runs, size_t *n, struct symbi_err *err)
{
    return st->ops->claim_queued(st, now, limit, node, runs, n, err);
}

int symbi_store_run_finish(struct symbi_store *st, const struct symbi_run_outcome *o, int64_t now,
                           struct symbi_err *err)
{
    return st->ops->run_finish(st, o, now, err);
}

int symbi_store_runs_give_back(struct symbi_store *st, const struct symbi_run *runs, size_t n,
                               const char *node, size_t *given, size_t *released,
                               struct symbi_err *err)
{
    return st->ops->runs_give_back(st, runs, n, node, given, released, err);
}

int symbi_store_runs_waiting(struct symbi_store *st, const char *const *ids, size_t n,
                             bool *waiting, struct symbi_err *err)
{
    return st->ops->runs_waiting(st, ids, n, waiting, err);
}

int symbi_store_agent_upsert(struct symbi_store *st, const struct symbi_agent_def *a, int64_t now,
                             struct symbi_err *err)
{
    return st->ops->agent_upsert(st, a, now, err);
}

int symbi_store_agent_get(struct symbi_store *st, const char *name, struct symbi_agent_def *out,
                          struct symbi_err *err)
{
    return st->ops->agent_get(st, name, out, err);
}

int symbi_store_agent_list(struct symbi_store *st, struct symbi_agent_def **agents, size_t *n,
                           struct symbi_err *err)
{
    return st->ops->agent_list(st, agents, n, err);
}

void symbi_agent_list_free(struct symbi_agent_def *agents, size_t n)
{
    if (agents == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        symbi_agent_def_cleanup(&agents[i]);
    free(agents);
}

int symbi_store_audit_append(struct symbi_store *st, const struct symbi_audit_event *e,
                             struct symbi_err *err)
{
    /* the backends only write: the check and the default time are here */
    if (e->type == NULL || e->type[0] == '\0')
        return symbi_err_set(err, SYMBI_EINVAL, "an audit event needs a type");
    if (e->at != SYMBI_TIME_NONE)
        return st->ops->audit_append(st, e, err);
    struct symbi_audit_event stamped = *e;
    stamped.at = symbi_now_wall_ms();
    return st->ops->audit_append(st, &stamped, err);
}

int symbi_store_audit_query(struct symbi_store *st, const struct symbi_audit_filter *f,
                            struct symbi_audit_event **events, size_t *n, struct symbi_err *err)
{
    return st->ops->audit_query(st, f, events, n, err);
}

void symbi_audit_list_free(struct symbi_audit_event *events, size_t n)
{
    if (events == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        symbi_audit_event_cleanup(&events[i]);
    free(events);
}

int symbi_store_context_get(struct symbi_store *st, const char *job_id, char **json,
                            struct symbi_err *err)
{
    return st->ops->context_get(st, job_id, json, err);
}

int symbi_store_context_put(struct symbi_store *st, const char *job_id, const char *json,
                            int64_t now, struct symbi_err *err)
{
    return st->ops->context_put(st, job_id, json, now, err);
}

int symbi_store_context_clear(struct symbi_store *st, const char *job_id, int64_t now,
                              struct symbi_err *err)
{
    return st->ops->context_clear(st, job_id, now, err);
}

void symbi_context_entries_free(struct symbi_context_entry *v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(v[i].input);
        free(v[i].output);
    }
    free(v);
}

int symbi_store_context_entries(struct symbi_store *st, const char *job_id, bool archived,
                                int64_t limit, struct symbi_context_entry **out, size_t *n,
                                struct symbi_err *err)
{
    return st->ops->context_entries(st, job_id, archived, limit, out, n, err);
}

int symbi_store_context_save(struct symbi_store *st, const char *job_id, const char *head,
                             struct symbi_context_entry *append, size_t n_append,
                             int64_t archive_through, int64_t now, struct symbi_err *err)
{
    return st->ops->context_save(st, job_id, head, append, n_append, archive_through, now, err);
}

int symbi_store_context_count(struct symbi_store *st, const char *job_id, int64_t *live,
                              int64_t *archived, struct symbi_err *err)
{
    return st->ops->context_count(st, job_id, live, archived, err);
}

void symbi_api_key_cleanup(struct symbi_api_key *k)
{
    if (k == NULL)
        return;
    free(k->name);
    free(k->salt);
    free(k->hash);
    free(k->scopes);
    memset(k, 0, sizeof *k);
    k->created_at = SYMBI_TIME_NONE;
    k->revoked_at = SYMBI_TIME_NONE;
}

int symbi_store_api_key_insert(struct symbi_store *st, struct symbi_api_key *k,
                               struct symbi_err *err)
{
    return st->ops->api_key_insert(st, k, err);
}

int symbi_store_api_key_list(struct symbi_store *st, struct symbi_api_key **keys, size_t *n,
                             struct symbi_err *err)
{
    return st->ops->api_key_list(st, keys, n, err);
}

void symbi_api_key_list_free(struct symbi_api_key *keys, size_t n)
{
    if (keys == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        symbi_api_key_cleanup(&keys[i]);
    free(keys);
}

int symbi_store_api_key_revoke(struct symbi_store *st, const char *ref, int64_t now,
                               struct symbi_err *err)
{
    return st->ops->api_key_revoke(st, ref, now, err);
}

int symbi_store_node_heartbeat(struct symbi_store *st, const char *node, int64_t now,
                               int64_t lease_ms, struct symbi_err *err)
{
    if (node == NULL || node[0] == '\0')
        return symbi_err_set(err, SYMBI_EINVAL, "a node needs a name");
    return st->ops->node_heartbeat(st, node, now, lease_ms, err);
}

int symbi_store_node_remove(struct symbi_store *st, const char *node, struct symbi_err *err)
{
    return st->ops->node_remove(st, node, err);
}

int symbi_store_node_alive(struct symbi_store *st, const char *except, int64_t now, bool *alive,
                           struct symbi_err *err)
{
    return st->ops->node_alive(st, except, now, alive, err);
}

int symbi_store_recover_expired(struct symbi_store *st, int64_t now, struct symbi_run **runs,
                                size_t *n, struct symbi_err *err)
{
    return st->ops->recover_expired(st, now, runs, n, err);
}

/* ---- the dashboard's digest ---- */

void symbi_run_activity_cleanup(struct symbi_run_activity *a)
{
    if (a == NULL)
        return;
    free(a->runs);
    free(a->minutes);
    memset(a, 0, sizeof *a);
}

#define ACTIVITY_FALLBACK_RUNS 20000

struct ordered {
    struct symbi_run_brief b;
    size_t idx;
};

static int by_job_then_index(const void *pa, const void *pb)
{
    const struct ordered *a = pa, *b = pb;
    int c = strcmp(a->b.job_id, b->b.job_id);
    return c != 0 ? c : (a->idx > b->idx) - (a->idx < b->idx);
}

/* For a backend without run_activity: the same digest from the newest
 * ACTIVITY_FALLBACK_RUNS runs (full rows), grouped here. */
static int activity_from_list(struct symbi_store *st, int per_job, int64_t since_ms,
                              struct symbi_run_activity *out, struct symbi_err *err)
{
    struct symbi_run_filter f = {.due_before = SYMBI_TIME_NONE, .limit = ACTIVITY_FALLBACK_RUNS};
    struct symbi_run *runs = NULL;
    size_t n = 0;
    int rc = st->ops->run_list(st, &f, &runs, &n, err);
    if (rc != 0)
        return rc;
    out->runs = calloc(n ? n : 1, sizeof *out->runs);
    out->minutes = calloc(n ? n : 1, sizeof *out->minutes);
    if (out->runs == NULL || out->minutes == NULL) {
        symbi_run_list_free(runs, n);
        return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
    }
    /* job by job (stable: newest first within a job), then at most per_job each */
    struct ordered *ord = calloc(n ? n : 1, sizeof *ord);
    if (ord == NULL) {
        symbi_run_list_free(runs, n);
        return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(ord[i].b.job_id, runs[i].job_id, sizeof ord[i].b.job_id);
        ord[i].b.status = runs[i].status;
        ord[i].b.scheduled_at = runs[i].scheduled_at;
        ord[i].b.finished_at = runs[i].finished_at;
        ord[i].idx = i;
    }
    qsort(ord, n, sizeof *ord, by_job_then_index);
    for (size_t i = 0, in_job = 0; i < n; i++) {
        in_job = i > 0 && strcmp(ord[i].b.job_id, ord[i - 1].b.job_id) == 0 ? in_job + 1 : 0;
        if ((int)in_job < per_job)
            out->runs[out->n_runs++] = ord[i].b;
    }
    free(ord);
    for (size_t i = 0; i < n; i++) {
        if (runs[i].finished_at == SYMBI_TIME_NONE || runs[i].finished_at < since_ms)
            continue;
        int64_t minute = runs[i].finished_at / 60000 * 60000;
        size_t m = 0;
        while (m < out->n_minutes && out->minutes[m].minute != minute)
            m++;
        if (m == out->n_minutes) {
            /* keep the minutes in ascending order */
            while (m > 0 && out->minutes[m - 1].minute > minute) {
                out->minutes[m] = out->minutes[m - 1];
                m--;
            }
            memset(&out->minutes[m], 0, sizeof out->minutes[m]);
            out->minutes[m].minute = minute;
            out->n_minutes++;
        }
        enum symbi_run_status s = runs[i].status;
        if (s == SYMBI_RUN_SUCCEEDED)
            out->minutes[m].succeeded++;
        else if (s == SYMBI_RUN_FAILED || s == SYMBI_RUN_TIMED_OUT || s == SYMBI_RUN_INTERRUPTED)
            out->minutes[m].failed++;
        else
            out->minutes[m].other++;
    }
    symbi_run_list_free(runs, n);
    return 0;
}

int symbi_store_run_activity(struct symbi_store *st, int per_job, int64_t since_ms,
                             struct symbi_run_activity *out, struct symbi_err *err)
{
    memset(out, 0, sizeof *out);
    if (per_job < 1)
        per_job = 1;
    if (per_job > SYMBI_ACTIVITY_MAX_PER_JOB)
        per_job = SYMBI_ACTIVITY_MAX_PER_JOB;
    int rc = st->ops->run_activity != NULL ? st->ops->run_activity(st, per_job, since_ms, out, err)
                                           : activity_from_list(st, per_job, since_ms, out, err);
    if (rc != 0)
        symbi_run_activity_cleanup(out);
    return rc;
}
