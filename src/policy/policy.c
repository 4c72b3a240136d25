/* policy.c - a job's policy (SPEC §8.1) parsed once from its stored JSON
 * into struct symbi_policy, so the executor, the approval routes and the
 * DSL validator read typed fields instead of JSON of their own. */
#include "symbi/policy.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const symbi_policy_keys[] = {
    "require_approval",     "approvers",        "max_runtime",
    "require_capabilities", "allowed_hours",    "allowed_environments",
    "require_agent_pin",    "approval_timeout", "policy_ids",
};
const size_t symbi_policy_n_keys = SYMBI_ARRAY_LEN(symbi_policy_keys);

/* the same keys as field names for diagnostics */
static const char *const fields[] = {
    "policy.require_approval",     "policy.approvers",        "policy.max_runtime",
    "policy.require_capabilities", "policy.allowed_hours",    "policy.allowed_environments",
    "policy.require_agent_pin",    "policy.approval_timeout", "policy.policy_ids",
};
enum { K_APPROVAL, K_APPROVERS, K_RUNTIME, K_CAPS, K_HOURS, K_ENVS, K_PIN, K_TIMEOUT, K_IDS };

void symbi_policy_init(struct symbi_policy *p)
{
    memset(p, 0, sizeof *p);
    p->max_runtime_ms = -1;
    p->approval_timeout_ms = -1;
}

static void list_cleanup(struct symbi_policy_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

void symbi_policy_cleanup(struct symbi_policy *p)
{
    if (p == NULL)
        return;
    list_cleanup(&p->approvers);
    list_cleanup(&p->require_capabilities);
    list_cleanup(&p->allowed_environments);
    list_cleanup(&p->policy_ids);
    symbi_policy_init(p);
}

bool symbi_policy_list_has(const struct symbi_policy_list *l, const char *name)
{
    if (name == NULL)
        return false;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], name) == 0)
            return true;
    return false;
}

static int parse_list(json_t *v, struct symbi_policy_list *l, const char *f, const char **field,
                      struct symbi_err *err)
{
    if (!json_is_array(v))
        return symbi_err_field(field, f, err, "expected an array of strings");
    size_t n = json_array_size(v);
    if (n > SYMBI_POLICY_MAX_LIST)
        return symbi_err_field(field, f, err, "at most %d entries", SYMBI_POLICY_MAX_LIST);
    l->set = true;
    l->v = n > 0 ? calloc(n, sizeof *l->v) : NULL;
    if (n > 0 && l->v == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(v, i));
        if (s == NULL || s[0] == '\0')
            return symbi_err_field(field, f, err, "expected an array of strings");
        if ((l->v[l->n] = symbi_strdup(s)) == NULL)
            return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
        l->n++;
    }
    return 0;
}

static int parse_duration(json_t *v, int64_t *ms, const char *f, const char **field,
                          struct symbi_err *err)
{
    if (json_is_integer(v) && json_integer_value(v) > 0 &&
        json_integer_value(v) <= INT64_MAX / 1000) {
        *ms = json_integer_value(v) * 1000;
        return 0;
    }
    if (json_is_string(v) && symbi_parse_duration_ms(json_string_value(v), ms) == 0 && *ms > 0)
        return 0;
    return symbi_err_field(field, f, err, "expected a positive duration (e.g. \"30m\")");
}

/* "HH:MM" (UTC, 00:00..24:00) into minutes after midnight */
static int parse_hhmm(json_t *v, int *min, const char *f, const char **field, struct symbi_err *err)
{
    const char *s = json_string_value(v);
    if (s != NULL && strlen(s) == 5 && s[2] == ':' && s[0] >= '0' && s[0] <= '2' && s[1] >= '0' &&
        s[1] <= '9' && s[3] >= '0' && s[3] <= '5' && s[4] >= '0' && s[4] <= '9') {
        int h = (s[0] - '0') * 10 + (s[1] - '0');
        int m = (s[3] - '0') * 10 + (s[4] - '0');
        if (h < 24 || (h == 24 && m == 0)) {
            *min = h * 60 + m;
            return 0;
        }
    }
    return symbi_err_field(field, f, err, "expected a time \"HH:MM\" (UTC)");
}

static int parse_key(json_t *v, size_t k, struct symbi_policy *p, const char **field,
                     struct symbi_err *err)
{
    const char *f = fields[k];
    switch (k) {
    case K_APPROVAL:
    case K_PIN:
        if (!json_is_boolean(v))
            return symbi_err_field(field, f, err, "expected true or false");
        *(k == K_APPROVAL ? &p->require_approval : &p->require_agent_pin) = json_is_true(v);
        return 0;
    case K_APPROVERS:
        return parse_list(v, &p->approvers, f, field, err);
    case K_CAPS:
        return parse_list(v, &p->require_capabilities, f, field, err);
    case K_ENVS:
        return parse_list(v, &p->allowed_environments, f, field, err);
    case K_IDS:
        return parse_list(v, &p->policy_ids, f, field, err);
    case K_RUNTIME:
        return parse_duration(v, &p->max_runtime_ms, f, field, err);
    case K_TIMEOUT:
        return parse_duration(v, &p->approval_timeout_ms, f, field, err);
    default: { /* K_HOURS */
        json_t *start = json_object_get(v, "start"), *end = json_object_get(v, "end");
        if (!json_is_object(v) || start == NULL || end == NULL || json_object_size(v) != 2)
            return symbi_err_field(field, f, err,
                                   "expected { start: \"HH:MM\", end: \"HH:MM\" } (UTC)");
        int rc = parse_hhmm(start, &p->hours_start_min, f, field, err);
        if (rc == 0)
            rc = parse_hhmm(end, &p->hours_end_min, f, field, err);
        p->has_hours = rc == 0;
        return rc;
    }
    }
}

int symbi_policy_parse(const char *json, struct symbi_policy *p, const char **field,
                       struct symbi_err *err)
{
    symbi_policy_init(p);
    if (json == NULL || json[0] == '\0')
        return 0;
    json_error_t je;
    json_t *o = json_loads(json, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL || !json_is_object(o)) {
        json_decref(o);
        return symbi_err_field(field, "policy", err, "must be a map (see SPEC §8.1)");
    }
    p->set = true;
    int rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        size_t k = symbi_policy_n_keys;
        for (size_t i = 0; i < symbi_policy_n_keys; i++)
            if (strcmp(symbi_policy_keys[i], key) == 0)
                k = i;
        if (k == symbi_policy_n_keys) {
            rc = symbi_err_field(field, "policy", err, "unknown key `%s`", key);
            break;
        }
        if ((rc = parse_key(v, k, p, field, err)) != 0)
            break;
    }
    json_decref(o);
    if (rc != 0)
        symbi_policy_cleanup(p);
    return rc;
}
