/* scopes.c - API-key scopes (SPEC §9): a request outside its key's scopes
 * is answered 403 and leaves an ApiAccessDenied audit event. */
#include "http/http_internal.h"
#include "symbi/json.h"
#include "symbi/policy.h"

#include <string.h>

bool http_check_scope(struct http_req *r, const struct http_route *rt, unsigned scopes)
{
    if ((rt->scope & scopes) == rt->scope)
        return true;
    const char *need = symbi_policy_scope_name(rt->scope);
    struct symbi_store *st = http_store(r, false);
    if (st != NULL) {
        struct symbi_audit_event ev;
        symbi_audit_event_init(&ev);
        ev.at = r->now > 0 ? r->now : symbi_now_wall_ms();
        ev.type = symbi_strdup("ApiAccessDenied");
        ev.actor = symbi_strdup(r->actor != NULL ? r->actor : "api");
        json_t *d = json_pack("{s:s,s:s,s:s}", "method", r->method, "path", r->url, "needs", need);
        ev.details = symbi_json_dump_compact(d);
        json_decref(d);
        struct symbi_err err = {0};
        if (ev.type != NULL && symbi_store_audit_append(st, &ev, &err) != 0)
            symbi_log(SYMBI_LOG_WARN, "api", "audit of a refused request failed: %s", err.msg);
        symbi_audit_event_cleanup(&ev);
    }
    symbi_log(SYMBI_LOG_INFO, "api", "forbidden actor=%s method=%s path=%s needs=%s",
              r->actor != NULL ? r->actor : "-", r->method, r->url, need);
    http_reply_error(r, 403, "FORBIDDEN", json_pack("{s:s}", "scope", need),
                     "this API key lacks the \"%s\" scope", need);
    return false;
}
