/* sandbox_spec.c - the sandbox block of an agent or tool (SPEC §6.5): its
 * JSON text checked and typed (sizes, durations, bounds, unknown keys). */
#include "agent/agent_int.h"

#include "symbi/dsl.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define KIB_         1024LL
#define TIB_         (KIB_ * KIB_ * KIB_ * KIB_)
#define PATH_MAX_LEN 4096

void symbi_agent_sandbox_init(struct symbi_sandbox *sb)
{
    memset(sb, 0, sizeof *sb);
}

void symbi_agent_sandbox_cleanup(struct symbi_sandbox *sb)
{
    free(sb->user);
    for (size_t i = 0; i < sb->n_writable; i++)
        free(sb->writable[i]);
    free(sb->writable);
    symbi_agent_sandbox_init(sb);
}

static int unknown(const char *where, const char *key, const char *const *known, size_t n,
                   struct symbi_err *err)
{
    const char *near = symbi_dsl_nearest(key, known, n);
    return symbi_err_set(err, SYMBI_EINVAL, "sandbox: %sunknown key `%.60s`%s%s%s", where, key,
                         near != NULL ? "; did you mean `" : "", near != NULL ? near : "",
                         near != NULL ? "`?" : "");
}

/* "64M", "512k", "1G", "100MiB", "4096" (bytes) or a JSON integer. */
static int size_value(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return SYMBI_EINVAL;
    const char *s = json_string_value(v);
    const char *p = s;
    int64_t n = 0;
    if (*p < '0' || *p > '9')
        return SYMBI_EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > (INT64_MAX - 9) / 10)
            return SYMBI_ERANGE;
        n = n * 10 + (*p - '0');
    }
    int64_t mul = 1;
    switch (*p) {
    case 'k':
    case 'K':
        mul = KIB_;
        break;
    case 'm':
    case 'M':
        mul = KIB_ * KIB_;
        break;
    case 'g':
    case 'G':
        mul = KIB_ * KIB_ * KIB_;
        break;
    case 't':
    case 'T':
        mul = TIB_;
        break;
    case '\0':
    case 'b':
    case 'B':
        break;
    default:
        return SYMBI_EINVAL;
    }
    if (mul > 1) {
        p++;
        if (*p == 'i')
            p++;
        if (*p == 'B' || *p == 'b')
            p++;
    } else if (*p != '\0') {
        p++;
    }
    if (*p != '\0')
        return SYMBI_EINVAL;
    if (n > INT64_MAX / mul)
        return SYMBI_ERANGE;
    *out = n * mul;
    return 0;
}

/* "2s", "10m", 5.minutes or a number of seconds. */
static int duration_value(const json_t *v, int64_t *out_ms)
{
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0 || json_integer_value(v) > INT64_MAX / 1000)
            return SYMBI_ERANGE;
        *out_ms = json_integer_value(v) * 1000;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d >= 0 && d < 1e12))
            return SYMBI_ERANGE;
        *out_ms = (int64_t)(d * 1000 + 0.5);
        return 0;
    }
    if (!json_is_string(v))
        return SYMBI_EINVAL;
    return symbi_parse_duration_ms(json_string_value(v), out_ms);
}

static int parse_limits(const json_t *o, struct symbi_sandbox *sb, struct symbi_err *err)
{
    static const char *const known[] = {"memory", "cpu_time", "processes", "open_files",
                                        "file_size"};
    if (!json_is_object(o))
        return symbi_err_set(err, SYMBI_EINVAL,
                             "sandbox: limits: must be a map { memory, cpu_time, processes, "
                             "open_files, file_size }");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        int64_t n = 0;
        if (strcmp(k, "memory") == 0 || strcmp(k, "file_size") == 0) {
            bool mem = k[0] == 'm';
            int64_t lo = mem ? KIB_ * KIB_ : 1;
            if (size_value(v, &n) != 0 || n < lo || n > TIB_)
                return symbi_err_set(err, SYMBI_EINVAL,
                                     "sandbox: limits.%s: must be a size between %s and 1T "
                                     "(like \"64M\")",
                                     k, mem ? "1M" : "1");
            *(mem ? &sb->memory : &sb->file_size) = n;
        } else if (strcmp(k, "cpu_time") == 0) {
            if (duration_value(v, &n) != 0 || n < 1000 || n > 7 * 86400000LL)
                return symbi_err_set(err, SYMBI_EINVAL,
                                     "sandbox: limits.cpu_time: must be a duration between 1s "
                                     "and 7d (like \"2s\", \"10m\")");
            sb->cpu_time_ms = n;
        } else if (strcmp(k, "processes") == 0 || strcmp(k, "open_files") == 0) {
            bool procs = k[0] == 'p';
            int64_t lo = procs ? 1 : 8, hi = procs ? 1000000 : 1048576;
            if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
                return symbi_err_set(err, SYMBI_EINVAL,
                                     "sandbox: limits.%s: must be an integer between %lld and "
                                     "%lld",
                                     k, (long long)lo, (long long)hi);
            *(procs ? &sb->processes : &sb->open_files) = json_integer_value(v);
        } else {
            return unknown("limits: ", k, known, SYMBI_ARRAY_LEN(known), err);
        }
    }
    return 0;
}

static bool user_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '-')
        return false;
    for (const char *q = s; *q != '\0'; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
              *q == '_' || *q == '-' || *q == '.' || (*q == '$' && q[1] == '\0')))
            return false;
    return true;
}

static bool path_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > PATH_MAX_LEN || s[0] != '/')
        return false;
    /* no ".." component, no control characters */
    for (const char *q = s; *q != '\0'; q++) {
        if ((unsigned char)*q < 0x20)
            return false;
        if (q[0] == '/' && q[1] == '.' && q[2] == '.' && (q[3] == '/' || q[3] == '\0'))
            return false;
    }
    return true;
}

static int parse_writable(const json_t *a, struct symbi_sandbox *sb, struct symbi_err *err)
{
    if (!json_is_array(a) || json_array_size(a) > SYMBI_SANDBOX_MAX_WRITABLE)
        return symbi_err_set(err, SYMBI_EINVAL,
                             "sandbox: writable: must be an array of at most %d absolute paths",
                             SYMBI_SANDBOX_MAX_WRITABLE);
    size_t n = json_array_size(a), i;
    json_t *v;
    sb->writable = calloc(n > 0 ? n : 1, sizeof *sb->writable);
    if (sb->writable == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "sandbox: out of memory");
    json_array_foreach((json_t *)a, i, v)
    {
        if (!json_is_string(v) || !path_ok(json_string_value(v)))
            return symbi_err_set(err, SYMBI_EINVAL,
                                 "sandbox: writable: element %zu must be an absolute path "
                                 "without `..`",
                                 i);
        if ((sb->writable[sb->n_writable] = symbi_strdup(json_string_value(v))) == NULL)
            return symbi_err_set(err, SYMBI_ENOMEM, "sandbox: out of memory");
        sb->n_writable++;
    }
    return 0;
}

int symbi_agent_sandbox_parse(const char *json_text, struct symbi_sandbox *out,
                              struct symbi_err *err)
{
    static const char *const known[] = {"user", "limits", "isolate", "network", "writable"};
    symbi_agent_sandbox_init(out);
    json_error_t je;
    json_t *o = json_text != NULL ? json_loads(json_text, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        return symbi_err_set(err, SYMBI_EINVAL,
                             "sandbox: must be a map { user, limits, isolate, network, writable "
                             "}");
    }
    int rc = 0;
    bool has_network = false, has_writable = false;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (rc != 0)
            break;
        if (strcmp(k, "user") == 0) {
            if (json_is_integer(v) && json_integer_value(v) >= 0 &&
                json_integer_value(v) < 4294967295LL) {
                char uid[24];
                snprintf(uid, sizeof uid, "%lld", (long long)json_integer_value(v));
                rc = symbi_set_str(&out->user, uid);
            } else if (json_is_string(v) && user_ok(json_string_value(v))) {
                rc = symbi_set_str(&out->user, json_string_value(v));
            } else {
                rc = symbi_err_set(err, SYMBI_EINVAL,
                                   "sandbox: user: must be a user name or a numeric uid");
            }
            if (rc == SYMBI_ENOMEM)
                symbi_err_set(err, rc, "sandbox: out of memory");
        } else if (strcmp(k, "limits") == 0) {
            rc = parse_limits(v, out, err);
        } else if (strcmp(k, "isolate") == 0 || strcmp(k, "network") == 0) {
            if (!json_is_boolean(v))
                rc = symbi_err_set(err, SYMBI_EINVAL, "sandbox: %s: must be true or false", k);
            else if (k[0] == 'i')
                out->isolate = json_is_true(v);
            else {
                out->network = json_is_true(v);
                has_network = true;
            }
        } else if (strcmp(k, "writable") == 0) {
            rc = parse_writable(v, out, err);
            has_writable = true;
        } else {
            rc = unknown("", k, known, SYMBI_ARRAY_LEN(known), err);
        }
    }
    json_decref(o);
    /* keys that only mean something inside namespaces must not be accepted
     * without them (they would have no effect) */
    if (rc == 0 && !out->isolate && (has_network || has_writable))
        rc = symbi_err_set(err, SYMBI_EINVAL, "sandbox: %s: needs `isolate: true`",
                           has_network ? "network" : "writable");
    return rc;
}
