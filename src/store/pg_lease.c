/* pg_lease.c - node leases with epochs in the PostgreSQL backend (SPEC
 * §13, docs/store.md "Several nodes"): acquiring or renewing a lease in one
 * statement, the epoch a claim stamps on the runs it takes, and the refusal
 * of a write by a node that no longer owns the run. */
#include "store/pg.h"

#include <stdio.h>
#include <unistd.h>

int pg_node_lease(struct symbi_store *st, const char *node, int64_t now, int64_t lease_ms,
                  int64_t *epoch, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    /* store_nodes.c checked the name and the duration */
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, node);
    pgp_i64(&p, (int64_t)getpid());
    pgp_text(&p, host);
    pgp_i64(&p, now);
    pgp_i64(&p, now + lease_ms);
    PGresult *r = NULL;
    /* renewed in time: the same epoch; expired (or no row): a new one, so
     * what the node held under the old epoch is recovery's */
    int rc = pg_q(s,
                  "INSERT INTO nodes (name, pid, host, started_at, heartbeat_at, lease_until, "
                  "epoch) VALUES ($1, $2, $3, $4, $4, $5, nextval('lease_epochs')) "
                  "ON CONFLICT (name) DO UPDATE SET pid = $2, host = $3, heartbeat_at = $4, "
                  "lease_until = $5, epoch = CASE WHEN nodes.lease_until >= $4 THEN nodes.epoch "
                  "ELSE EXCLUDED.epoch END, started_at = CASE WHEN nodes.lease_until >= $4 THEN "
                  "nodes.started_at ELSE $4 END RETURNING epoch",
                  &p, &r, "renewing a node lease", err);
    if (rc != 0)
        return rc;
    *epoch = PQntuples(r) == 1 ? pgc_i64(r, 0, 0) : 0;
    PQclear(r);
    return 0;
}

int pg_claim_epoch(struct pg_store *s, const char *node, int64_t now, int64_t *epoch,
                   struct symbi_err *err)
{
    *epoch = 0;
    if (node == NULL)
        return 0;
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, node);
    pgp_i64(&p, now);
    PGresult *r = NULL;
    int rc = pg_q(s, "SELECT epoch FROM nodes WHERE name = $1 AND lease_until >= $2", &p, &r,
                  "reading a node's lease", err);
    if (rc != 0)
        return rc;
    if (PQntuples(r) == 1)
        *epoch = pgc_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

int pg_lease_refused(struct pg_store *s, const struct symbi_run *run, struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, run->id);
    PGresult *r = NULL;
    int rc = pg_q(s, "SELECT node, epoch, status FROM runs WHERE id = $1", &p, &r,
                  "reading a run's owner", err);
    if (rc != 0)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return symbi_err_set(err, SYMBI_ENOTFOUND, "no run \"%s\"", run->id);
    }
    const char *owner = pgc_raw(r, 0, 0);
    rc =
        symbi_err_set(err, SYMBI_ESTATE,
                      "run %s is no longer this node's: node %s took it under lease epoch %lld, "
                      "the store has it %s, owned by %s (epoch %lld)",
                      run->id, run->node ? run->node : "?", (long long)run->epoch, pgc_raw(r, 0, 2),
                      owner != NULL ? owner : "no node", (long long)pgc_i64(r, 0, 1));
    PQclear(r);
    return rc;
}
