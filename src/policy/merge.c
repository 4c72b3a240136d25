/* merge.c - two policies made one (SPEC §8.3: a named policy and a
 * schedule's own block both apply, the stricter value of each key wins),
 * working on the JSON text so that values keep the form they were written in. */
#include "symbi/policy.h"

#include <jansson.h>
#include <string.h>

#define DAY_MIN 1440

static int bad(struct symbi_err *err, const char *key, const char *msg)
{
    return symbi_err_set(err, SYMBI_EINVAL, "policy.%s: %s", key, msg);
}

/* a's and b's string arrays: the union (in order, no repeats) or the intersection */
static json_t *list_combine(json_t *a, json_t *b, bool intersect)
{
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        bool in_b = false, seen = false;
        size_t j;
        json_t *w;
        json_array_foreach(b, j, w) in_b = in_b || json_equal(v, w);
        json_array_foreach(out, j, w) seen = seen || json_equal(v, w);
        if (!seen && (in_b || !intersect))
            json_array_append(out, v);
    }
    if (!intersect) {
        json_array_foreach(b, i, v)
        {
            bool seen = false;
            size_t j;
            json_t *w;
            json_array_foreach(out, j, w) seen = seen || json_equal(v, w);
            if (!seen)
                json_array_append(out, v);
        }
    }
    return out;
}

/* the minutes of the day a window allows, as a bitmap */
static void window_mark(const struct symbi_policy *p, unsigned char allow[DAY_MIN])
{
    for (int m = 0; m < DAY_MIN; m++)
        allow[m] = symbi_policy_hours_allow(p, (int64_t)m * 60000);
}

/* The intersection of two allowed_hours windows as one window object. */
static int hours_combine(const struct symbi_policy *pa, const struct symbi_policy *pb, json_t **out,
                         struct symbi_err *err)
{
    unsigned char a[DAY_MIN], b[DAY_MIN], both[DAY_MIN];
    window_mark(pa, a);
    window_mark(pb, b);
    int n = 0, starts = 0, start = -1;
    for (int m = 0; m < DAY_MIN; m++) {
        both[m] = a[m] && b[m];
        n += both[m];
    }
    if (n == 0)
        return bad(err, "allowed_hours",
                   "the two windows share no minute: the job could never run");
    if (n == DAY_MIN) {
        *out = json_pack("{s:s,s:s}", "start", "00:00", "end", "24:00");
        return *out != NULL ? 0 : SYMBI_ENOMEM;
    }
    for (int m = 0; m < DAY_MIN; m++) {
        if (both[m] && !both[(m + DAY_MIN - 1) % DAY_MIN]) {
            starts++;
            start = m;
        }
    }
    if (starts != 1)
        return bad(err, "allowed_hours", "the two windows overlap in more than one piece");
    int end = (start + n) % DAY_MIN;
    char s[8], e[8];
    snprintf(s, sizeof s, "%02u:%02u", (unsigned)start / 60 % 24, (unsigned)start % 60);
    snprintf(e, sizeof e, "%02u:%02u", (unsigned)end / 60 % 24, (unsigned)end % 60);
    *out = json_pack("{s:s,s:s}", "start", s, "end", e);
    return *out != NULL ? 0 : SYMBI_ENOMEM;
}

static json_t *load(const char *text, struct symbi_policy *p, struct symbi_err *err, int *rc)
{
    *rc = symbi_policy_parse(text, p, NULL, err);
    if (*rc != 0 || text == NULL || text[0] == '\0')
        return NULL;
    return json_loads(text, JSON_REJECT_DUPLICATES, NULL);
}

static int merge_key(const char *key, json_t *va, json_t *vb, const struct symbi_policy *pa,
                     const struct symbi_policy *pb, json_t *out, struct symbi_err *err)
{
    json_t *r = NULL;
    if (strcmp(key, "require_approval") == 0 || strcmp(key, "require_agent_pin") == 0) {
        r = json_boolean(json_is_true(va) || json_is_true(vb));
    } else if (strcmp(key, "max_runtime") == 0 || strcmp(key, "approval_timeout") == 0) {
        bool rt = key[0] == 'm';
        int64_t a = rt ? pa->max_runtime_ms : pa->approval_timeout_ms;
        int64_t b = rt ? pb->max_runtime_ms : pb->approval_timeout_ms;
        r = json_incref(a <= b ? va : vb);
    } else if (strcmp(key, "require_capabilities") == 0 || strcmp(key, "policy_ids") == 0) {
        r = list_combine(va, vb, false);
    } else if (strcmp(key, "approvers") == 0 || strcmp(key, "allowed_environments") == 0) {
        /* an empty approvers list restricts nothing */
        if (key[1] == 'p' && json_array_size(va) == 0)
            r = json_incref(vb);
        else if (key[1] == 'p' && json_array_size(vb) == 0)
            r = json_incref(va);
        else
            r = list_combine(va, vb, true);
        if (r != NULL && json_array_size(r) == 0) {
            json_decref(r);
            return bad(err, key,
                       key[1] == 'p' ? "the two policies share no approver"
                                     : "the two policies share no environment");
        }
    } else { /* allowed_hours */
        int rc = hours_combine(pa, pb, &r, err);
        if (rc != 0)
            return rc;
    }
    if (r == NULL || json_object_set_new(out, key, r) != 0)
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    return 0;
}

int symbi_policy_merge(const char *a, const char *b, char **out, struct symbi_err *err)
{
    *out = NULL;
    struct symbi_policy pa, pb;
    int rc;
    json_t *ja = load(a, &pa, err, &rc);
    if (rc != 0)
        return rc;
    json_t *jb = load(b, &pb, err, &rc);
    if (rc != 0) {
        json_decref(ja);
        symbi_policy_cleanup(&pa);
        return rc;
    }
    json_t *res = NULL;
    if (ja == NULL || jb == NULL) {
        res = json_incref(ja != NULL ? ja : jb);
    } else {
        res = json_deep_copy(ja);
        const char *key;
        json_t *vb;
        json_object_foreach(jb, key, vb)
        {
            json_t *va = json_object_get(ja, key);
            if (res == NULL)
                break;
            if (va == NULL)
                rc = json_object_set(res, key, vb) != 0 ? SYMBI_ENOMEM : 0;
            else
                rc = merge_key(key, va, vb, &pa, &pb, res, err);
            if (rc != 0)
                break;
        }
        if (res == NULL && rc == 0)
            rc = symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    }
    if (rc == 0 && res != NULL) {
        *out = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (*out == NULL)
            rc = symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    }
    json_decref(res);
    json_decref(ja);
    json_decref(jb);
    symbi_policy_cleanup(&pa);
    symbi_policy_cleanup(&pb);
    return rc;
}
