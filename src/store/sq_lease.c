/* sq_lease.c - node leases with epochs in the SQLite backend (SPEC §13,
 * docs/store.md "Several nodes"): acquiring or renewing a lease, the epoch a
 * claim stamps on the runs it takes, and the refusal of a stale write. */
#include "store/sq.h"

#include <stdio.h>
#include <unistd.h>

static int prep_fail(struct symbi_err *err)
{
    return err != NULL && err->code != 0 ? err->code : SYMBI_ESTORE;
}

/* The epoch of node's live lease at now (0: no live lease); inside the
 * caller's transaction. */
static int live_epoch(struct sq_store *s, const char *node, int64_t now, int64_t *epoch,
                      struct symbi_err *err)
{
    *epoch = 0;
    sqlite3_stmt *q =
        sq_prep(s, "SELECT epoch FROM nodes WHERE name = ?1 AND lease_until >= ?2", err);
    if (q == NULL)
        return prep_fail(err);
    sq_bind_text(q, 1, node);
    sqlite3_bind_int64(q, 2, now);
    int rc = sq_step(s, q, err, "reading a node's lease");
    if (rc == SQLITE_ROW)
        *epoch = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : rc;
}

/* A fresh epoch for node, never handed out before. */
static int new_epoch(struct sq_store *s, const char *node, int64_t now, int64_t *epoch,
                     struct symbi_err *err)
{
    sqlite3_stmt *i =
        sq_prep(s, "INSERT INTO lease_epochs (node, acquired_at) VALUES (?1, ?2)", err);
    if (i == NULL)
        return prep_fail(err);
    sq_bind_text(i, 1, node);
    sqlite3_bind_int64(i, 2, now);
    int rc = sq_step(s, i, err, "taking a lease epoch");
    sqlite3_reset(i);
    if (rc != SQLITE_DONE)
        return rc;
    *epoch = sqlite3_last_insert_rowid(s->db);
    /* AUTOINCREMENT never reuses an epoch: the older rows can go */
    sqlite3_stmt *d = sq_prep(s, "DELETE FROM lease_epochs WHERE epoch < ?1", err);
    if (d == NULL)
        return prep_fail(err);
    sqlite3_bind_int64(d, 1, *epoch);
    rc = sq_step(s, d, err, "forgetting old lease epochs");
    sqlite3_reset(d);
    return rc == SQLITE_DONE ? 0 : rc;
}

int sq_node_lease(struct symbi_store *st, const char *node, int64_t now, int64_t lease_ms,
                  int64_t *epoch, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    /* store_nodes.c checked the name and the duration */
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    int rc = sq_begin(s, err);
    if (rc != 0)
        return rc;
    int64_t e = 0;
    if ((rc = live_epoch(s, node, now, &e, err)) != 0)
        goto fail;
    bool renew = e > 0;
    /* an expired lease (or none) is acquired afresh: whatever this node
     * held under its old epoch belongs to recovery now */
    if (!renew && (rc = new_epoch(s, node, now, &e, err)) != 0)
        goto fail;
    sqlite3_stmt *u = sq_prep(
        s,
        "INSERT INTO nodes (name, pid, host, started_at, heartbeat_at, lease_until, epoch) "
        "VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6) ON CONFLICT(name) DO UPDATE SET pid = ?2, host = ?3, "
        "heartbeat_at = ?4, lease_until = ?5, epoch = ?6, "
        "started_at = CASE WHEN ?7 THEN started_at ELSE ?4 END",
        err);
    if (u == NULL) {
        rc = prep_fail(err);
        goto fail;
    }
    sq_bind_text(u, 1, node);
    sqlite3_bind_int64(u, 2, (int64_t)getpid());
    sq_bind_text(u, 3, host);
    sqlite3_bind_int64(u, 4, now);
    sqlite3_bind_int64(u, 5, now + lease_ms);
    sqlite3_bind_int64(u, 6, e);
    sqlite3_bind_int(u, 7, renew);
    rc = sq_step(s, u, err, "renewing a node lease");
    sqlite3_reset(u);
    if (rc != SQLITE_DONE)
        goto fail;
    if ((rc = sq_commit(s, err)) != 0)
        return rc;
    *epoch = e;
    return 0;
fail:
    sq_rollback(s);
    return rc < 0 ? rc : SYMBI_ESTORE;
}

int sq_claim_epoch(struct sq_store *s, const char *node, int64_t now, int64_t *epoch,
                   struct symbi_err *err)
{
    *epoch = 0;
    if (node == NULL)
        return 0;
    return live_epoch(s, node, now, epoch, err);
}

int sq_lease_refused(struct sq_store *s, const struct symbi_run *run, struct symbi_err *err)
{
    sqlite3_stmt *q = sq_prep(s, "SELECT node, epoch, status FROM runs WHERE id = ?1", err);
    if (q == NULL)
        return prep_fail(err);
    sq_bind_text(q, 1, run->id);
    int rc = sq_step(s, q, err, "reading a run's owner");
    if (rc != SQLITE_ROW) {
        sqlite3_reset(q);
        if (rc == SQLITE_DONE)
            return symbi_err_set(err, SYMBI_ENOTFOUND, "no run \"%s\"", run->id);
        return rc;
    }
    const char *owner = (const char *)sqlite3_column_text(q, 0);
    char who[160];
    snprintf(who, sizeof who, "%s", owner != NULL ? owner : "no node");
    long long epoch = sqlite3_column_int64(q, 1);
    char status[32];
    snprintf(status, sizeof status, "%s", (const char *)sqlite3_column_text(q, 2));
    sqlite3_reset(q);
    return symbi_err_set(err, SYMBI_ESTATE,
                         "run %s is no longer this node's: node %s took it under lease epoch "
                         "%lld, the store has it %s, owned by %s (epoch %lld)",
                         run->id, run->node ? run->node : "?", (long long)run->epoch, status, who,
                         epoch);
}
