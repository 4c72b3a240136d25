/* eval.c - the policy decision of SPEC §8.1, pure: a typed policy, the
 * agent's capabilities, the environment and `now` in; Allow, Deny{reason}
 * or RequireApproval{approvers} out. No clock, no I/O. */
#include "symbi/policy.h"

#include <stdio.h>
#include <string.h>

#define MIN_MS  60000LL
#define DAY_MIN 1440

/* The minute of the UTC day of now (floor, also before 1970). */
static int minute_of_day(int64_t now)
{
    int64_t m = now / MIN_MS;
    if (now % MIN_MS < 0)
        m--;
    m %= DAY_MIN;
    if (m < 0)
        m += DAY_MIN;
    return (int)m;
}

bool symbi_policy_hours_allow(const struct symbi_policy *p, int64_t now)
{
    if (!p->set || !p->has_hours)
        return true;
    int s = p->hours_start_min, e = p->hours_end_min, m = minute_of_day(now);
    if (s == e || (s == 0 && e == DAY_MIN))
        return true; /* the whole day */
    if (s < e)
        return m >= s && m < e;
    return m >= s || m < e; /* wraps midnight */
}

bool symbi_policy_may_approve(const struct symbi_policy *p, const char *who)
{
    if (!p->set || p->approvers.n == 0)
        return true;
    return symbi_policy_list_has(&p->approvers, who);
}

int64_t symbi_policy_approval_timeout(const struct symbi_policy *p, int64_t default_ms)
{
    if (p != NULL && p->set && p->approval_timeout_ms > 0)
        return p->approval_timeout_ms;
    return default_ms > 0 ? default_ms : SYMBI_POLICY_APPROVAL_TIMEOUT_MS;
}

bool symbi_policy_approval_expired(const struct symbi_policy *p, int64_t default_ms, int64_t since,
                                   int64_t now)
{
    if (since == SYMBI_TIME_NONE)
        return false;
    int64_t t = symbi_policy_approval_timeout(p, default_ms);
    return since <= INT64_MAX - t && now >= since + t;
}

static void deny(struct symbi_policy_decision *d, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void deny(struct symbi_policy_decision *d, const char *type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->reason, sizeof d->reason, fmt, ap);
    va_end(ap);
    d->verdict = SYMBI_POLICY_DENY;
    d->audit_type = type;
}

static bool has_cap(const struct symbi_policy_input *in, const char *cap)
{
    for (size_t i = 0; i < in->n_capabilities; i++)
        if (in->capabilities[i] != NULL && strcmp(in->capabilities[i], cap) == 0)
            return true;
    return false;
}

static void hhmm(int min, char out[8])
{
    unsigned h = (unsigned)(min / 60) % 25u, m = (unsigned)(min % 60);
    snprintf(out, 8, "%02u:%02u", h, m);
}

int symbi_policy_evaluate(const struct symbi_policy_input *in, struct symbi_policy_decision *d)
{
    const struct symbi_policy *p = in->policy;
    memset(d, 0, sizeof *d);
    d->verdict = SYMBI_POLICY_ALLOW;
    if (p->set) {
        for (size_t i = 0; i < p->require_capabilities.n; i++) {
            const char *cap = p->require_capabilities.v[i];
            if (!has_cap(in, cap)) {
                deny(d, "PolicyDenied", "policy: the agent lacks the required capability \"%s\"",
                     cap);
                return 0;
            }
        }
        const char *env = in->environment != NULL ? in->environment : "development";
        if (p->allowed_environments.set && !symbi_policy_list_has(&p->allowed_environments, env)) {
            deny(d, "PolicyDenied", "policy: environment \"%s\" is not in allowed_environments",
                 env);
            return 0;
        }
        if (!symbi_policy_hours_allow(p, in->now)) {
            char s[8], e[8], t[SYMBI_TIME_STRLEN];
            hhmm(p->hours_start_min, s);
            hhmm(p->hours_end_min, e);
            deny(d, "PolicyDenied", "policy: %s is outside allowed_hours %s-%s UTC",
                 symbi_time_fmt(in->now, t), s, e);
            return 0;
        }
    }
    if (in->pin_required || (p->set && p->require_agent_pin)) {
        char why[400] = "no credential verifier";
        if (in->pin == NULL || in->pin(in->pin_ud, why, sizeof why) != 0) {
            deny(d, "AgentPinVerificationFailed", "agentpin: %s", why);
            return 0;
        }
    }
    if (p->set && p->require_approval && !in->approved) {
        d->verdict = SYMBI_POLICY_REQUIRE_APPROVAL;
        d->approvers = &p->approvers;
    }
    return 0;
}
