/* store_nodes.c - the store's operations for several nodes (SPEC §13): the
 * lease with its epoch and waiting for another node's change, dispatched to
 * the backend, with the fallbacks of a backend that has neither. */
#include "store/store_ops.h"

int symbi_store_node_lease(struct symbi_store *st, const char *node, int64_t now, int64_t lease_ms,
                           int64_t *epoch, struct symbi_err *err)
{
    if (node == NULL || node[0] == '\0')
        return symbi_err_set(err, SYMBI_EINVAL, "a node needs a name");
    if (st->ops->node_lease != NULL) {
        if (lease_ms <= 0)
            return symbi_err_set(err, SYMBI_EINVAL, "a lease needs a positive duration");
        return st->ops->node_lease(st, node, now, lease_ms, epoch, err);
    }
    int rc = st->ops->node_heartbeat(st, node, now, lease_ms, err);
    if (rc == 0)
        *epoch = 0;
    return rc;
}

int symbi_store_wait_change(struct symbi_store *st, int64_t timeout_ms, bool *changed,
                            struct symbi_err *err)
{
    *changed = false;
    if (st->ops->wait_change == NULL)
        return symbi_err_set(err, SYMBI_EUNSUPPORTED, "store: %s cannot wait for changes",
                             st->ops->name);
    if (timeout_ms < 0)
        timeout_ms = 0;
    if (timeout_ms > 10000)
        timeout_ms = 10000;
    return st->ops->wait_change(st, timeout_ms, changed, err);
}
