/* pg_notify.c - waiting for another node's change in the PostgreSQL
 * backend (SPEC §5.1, §13): every commit that changes jobs or queued runs
 * announces itself on a channel (pg_db.c); a handle LISTENs on it and
 * waits on its connection's socket, so a node wakes at once instead of at
 * its next tick. */
#include "store/pg.h"

#include <errno.h>
#include <poll.h>

/* Takes every notification the connection has read; whether there was one. */
static bool drain(PGconn *c)
{
    bool any = false;
    for (PGnotify *n; (n = PQnotifies(c)) != NULL; PQfreemem(n))
        any = true;
    return any;
}

/* LISTENs on this connection when it does not yet (a new connection after
 * a reconnect starts without it); *fresh says it just did. */
static int subscribe(struct pg_store *s, bool *fresh, struct symbi_err *err)
{
    *fresh = false;
    int rc = pg_ready(s, err);
    if (rc != 0)
        return rc;
    int pid = PQbackendPID(s->conn);
    if (s->listen_pid == pid && pid != 0)
        return 0;
    if ((rc = pg_x(s, "LISTEN " PG_CHANGES_CHANNEL, NULL, NULL, "listening for changes", err)) != 0)
        return rc;
    s->listen_pid = pid;
    *fresh = true;
    return 0;
}

int pg_wait_change(struct symbi_store *st, int64_t timeout_ms, bool *changed, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    *changed = false;
    if (s->lv.depth > 0)
        return symbi_err_set(err, SYMBI_ESTATE, "store: waiting for changes inside a transaction");
    bool fresh = false;
    int rc = subscribe(s, &fresh, err);
    if (rc != 0)
        return rc;
    /* a new subscription may have missed changes made while there was
     * none: say so, the caller looks once */
    if (fresh && timeout_ms > 0) {
        *changed = true;
        return 0;
    }
    if (PQconsumeInput(s->conn) == 0)
        goto lost;
    if (drain(s->conn)) {
        *changed = true;
        return 0;
    }
    if (timeout_ms <= 0)
        return 0;
    struct pollfd pfd = {.fd = PQsocket(s->conn), .events = POLLIN};
    int n = poll(&pfd, 1, (int)timeout_ms);
    if (n < 0 && errno != EINTR)
        return symbi_err_set(err, SYMBI_EIO, "store: waiting for changes: poll failed");
    if (n <= 0)
        return 0;
    if (PQconsumeInput(s->conn) == 0)
        goto lost;
    *changed = drain(s->conn);
    return 0;
lost:
    /* the next call reconnects (with the back-off) and LISTENs again */
    s->listen_pid = 0;
    return symbi_err_set(err, SYMBI_EIO, "store: lost the connection to PostgreSQL: %s",
                         PQerrorMessage(s->conn));
}
