/* config.c - symbi.toml and the environment (SPEC §11): defaults < file <
 * environment < flags, one table row per key with its type and bounds,
 * errors as FILE:LINE: KEY: message, ${VAR} kept until use. */
#include "symbi/config.h"

#include "config/toml.h"
#include "symbi/agent.h"
#include "symbi/cron.h"
#include "symbi/dsl.h"

#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIB 1024LL
#define MIB (1024LL * 1024)
#define GIB (1024LL * 1024 * 1024)
#define DAY (24LL * 3600 * 1000)

void symbi_config_init(struct symbi_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->tick_interval_ms = 1000;
    cfg->max_jitter_ms = 0;
    cfg->max_concurrent_jobs = 10;
    cfg->enable_metrics = true;
    cfg->default_max_retries = 3;
    cfg->shutdown_timeout_ms = 30000;
    cfg->retry_backoff_ms = 30000;
    cfg->approval_timeout_ms = 3600000;
    cfg->max_output_bytes = MIB;
    cfg->context_max_bytes = 256 * KIB;
    cfg->lease_ms = 15000;
    cfg->keep_runs_ms = 90LL * 86400000;
    cfg->keep_runs_per_job = 10000;
    cfg->keep_audit_ms = 365LL * 86400000;
    cfg->webhook_timeout_ms = 30000;
    cfg->webhook_retry_attempts = 3;
    cfg->webhook_retry_backoff_ms = 1000;
    cfg->smtp_port = 587;
    cfg->max_body_bytes = MIB;
    cfg->header_timeout_ms = 10000;
    cfg->max_connections = 1000;
    cfg->max_connections_per_ip = 64;
    cfg->agentpin_cache_ttl_ms = 3600000;
    cfg->agentpin_clock_skew_ms = 60000;
    cfg->log_max_bytes = 10 * MIB;
}

/* clang-format off */
#define CONFIG_STRINGS(X) \
    X(config_file) X(data_dir) X(environment) X(default_timezone) X(slack_api_token) \
    X(slack_default_channel) X(slack_api_base) X(smtp_host) X(smtp_username) \
    X(smtp_password) X(email_from) X(webhook_auth_header) X(delivery_log_dir) X(listen) X(api_key) \
    X(store_url) X(agents_dir) X(llm_endpoint) X(default_sandbox) X(agentpin_domain) \
    X(agentpin_trust_bundle) X(agentpin_keys_dir) X(agentpin_ca_file) \
    X(agentpin_discovery_resolve) X(log_level)
/* clang-format on */

void symbi_config_cleanup(struct symbi_config *cfg)
{
#define FREE_FIELD(f) free(cfg->f);
    CONFIG_STRINGS(FREE_FIELD)
#undef FREE_FIELD
    for (size_t i = 0; i < cfg->n_custom_channels; i++) {
        free(cfg->custom_channels[i].name);
        free(cfg->custom_channels[i].command);
    }
    free(cfg->custom_channels);
    symbi_config_init(cfg);
}

/* Effective defaults of string fields, set after loading when unset. */
static int fill_string_defaults(struct symbi_config *cfg)
{
    struct {
        char **field;
        const char *value;
    } defs[] = {
        {&cfg->environment, "development"},
        {&cfg->default_timezone, "UTC"},
        {&cfg->slack_api_base, "https://slack.com/api"},
        {&cfg->listen, "127.0.0.1:8080"},
        {&cfg->log_level, "info"},
    };
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(defs); i++)
        if (*defs[i].field == NULL && symbi_set_str(defs[i].field, defs[i].value) != 0)
            return SYMBI_ENOMEM;
    return 0;
}

/* ---- the key table ---- */

enum ctype {
    C_STRING,   /* kept as written (${VAR} expanded at use) */
    C_SECONDS,  /* integer or float seconds, or a duration string -> ms */
    C_INT,      /* integer in [lo, hi] into an int */
    C_INT64,    /* integer in [lo, hi] into an int64_t */
    C_BOOL,     /* boolean */
    C_ZONE,     /* an IANA zone name */
    C_LISTEN,   /* "host:port" */
    C_LOGLEVEL, /* debug|info|warn|error|off */
    C_SANDBOX,  /* a table checked as a sandbox (SPEC §6.5) -> JSON text */
};

struct ckey {
    const char *section; /* "" for top level */
    const char *key;
    enum ctype type;
    size_t off;
    int64_t lo, hi; /* bounds (ms for C_SECONDS) */
};

#define O(f) offsetof(struct symbi_config, f)
static const struct ckey keys[] = {
    {"", "environment", C_STRING, O(environment), 0, 0},
    {"", "data_dir", C_STRING, O(data_dir), 0, 0},
    {"scheduler", "tick_interval_seconds", C_SECONDS, O(tick_interval_ms), 10, 60000},
    {"scheduler", "max_jitter_seconds", C_SECONDS, O(max_jitter_ms), 0, DAY},
    {"scheduler", "max_concurrent_jobs", C_INT, O(max_concurrent_jobs), 1, 10000},
    {"scheduler", "enable_metrics", C_BOOL, O(enable_metrics), 0, 0},
    {"scheduler", "default_max_retries", C_INT, O(default_max_retries), 0, 1000},
    {"scheduler", "shutdown_timeout_seconds", C_SECONDS, O(shutdown_timeout_ms), 0, 3600000},
    {"scheduler", "default_timezone", C_ZONE, O(default_timezone), 0, 0},
    {"scheduler", "retry_backoff", C_SECONDS, O(retry_backoff_ms), 0, DAY},
    {"scheduler", "retry_backoff_seconds", C_SECONDS, O(retry_backoff_ms), 0, DAY},
    {"scheduler", "approval_timeout", C_SECONDS, O(approval_timeout_ms), 1000, 30 * DAY},
    {"scheduler", "approval_timeout_seconds", C_SECONDS, O(approval_timeout_ms), 1000, 30 * DAY},
    {"scheduler", "max_output_bytes", C_INT64, O(max_output_bytes), KIB, GIB},
    {"scheduler", "context_max_bytes", C_INT64, O(context_max_bytes), KIB, GIB},
    {"scheduler", "lease_seconds", C_SECONDS, O(lease_ms), 1000, 3600000},
    {"scheduler.delivery", "webhook_timeout_seconds", C_SECONDS, O(webhook_timeout_ms), 100,
     600000},
    {"scheduler.delivery", "webhook_retry_attempts", C_INT, O(webhook_retry_attempts), 0, 20},
    {"scheduler.delivery", "webhook_retry_backoff_seconds", C_SECONDS, O(webhook_retry_backoff_ms),
     0, 600000},
    {"scheduler.delivery", "slack_api_token", C_STRING, O(slack_api_token), 0, 0},
    {"scheduler.delivery", "slack_default_channel", C_STRING, O(slack_default_channel), 0, 0},
    {"scheduler.delivery", "slack_api_base", C_STRING, O(slack_api_base), 0, 0},
    {"scheduler.delivery", "smtp_host", C_STRING, O(smtp_host), 0, 0},
    {"scheduler.delivery", "smtp_port", C_INT, O(smtp_port), 1, 65535},
    {"scheduler.delivery", "smtp_username", C_STRING, O(smtp_username), 0, 0},
    {"scheduler.delivery", "smtp_password", C_STRING, O(smtp_password), 0, 0},
    {"scheduler.delivery", "smtp_require_tls", C_BOOL, O(smtp_require_tls), 0, 0},
    {"scheduler.delivery", "email_from", C_STRING, O(email_from), 0, 0},
    {"scheduler.delivery", "webhook_auth_header", C_STRING, O(webhook_auth_header), 0, 0},
    {"scheduler.delivery", "log_dir", C_STRING, O(delivery_log_dir), 0, 0},
    {"api", "listen", C_LISTEN, O(listen), 0, 0},
    {"api", "max_body_bytes", C_INT64, O(max_body_bytes), KIB, 64 * MIB},
    {"api", "protect_health", C_BOOL, O(protect_health), 0, 0},
    {"api", "upstream_health", C_BOOL, O(upstream_health), 0, 0},
    {"api", "api_key", C_STRING, O(api_key), 0, 0},
    {"api", "header_timeout_seconds", C_SECONDS, O(header_timeout_ms), 1000, 600000},
    {"api", "max_connections", C_INT, O(max_connections), 16, 100000},
    {"api", "max_connections_per_ip", C_INT, O(max_connections_per_ip), 1, 100000},
    {"store", "url", C_STRING, O(store_url), 0, 0},
    {"store", "keep_runs", C_SECONDS, O(keep_runs_ms), 0, 36500LL * 86400000},
    {"store", "keep_runs_per_job", C_INT64, O(keep_runs_per_job), 0, 1000000000},
    {"store", "keep_audit", C_SECONDS, O(keep_audit_ms), 0, 36500LL * 86400000},
    {"agents", "dir", C_STRING, O(agents_dir), 0, 0},
    {"agents", "llm_endpoint", C_STRING, O(llm_endpoint), 0, 0},
    {"agents", "default_sandbox", C_SANDBOX, O(default_sandbox), 0, 0},
    {"agentpin", "required", C_BOOL, O(agentpin_required), 0, 0},
    {"agentpin", "domain", C_STRING, O(agentpin_domain), 0, 0},
    {"agentpin", "trust_bundle", C_STRING, O(agentpin_trust_bundle), 0, 0},
    {"agentpin", "keys_dir", C_STRING, O(agentpin_keys_dir), 0, 0},
    {"agentpin", "ca_file", C_STRING, O(agentpin_ca_file), 0, 0},
    {"agentpin", "discovery_resolve", C_STRING, O(agentpin_discovery_resolve), 0, 0},
    {"agentpin", "cache_ttl_seconds", C_SECONDS, O(agentpin_cache_ttl_ms), 0, 30 * DAY},
    {"agentpin", "clock_skew_seconds", C_SECONDS, O(agentpin_clock_skew_ms), 0, 3600000},
    {"log", "level", C_LOGLEVEL, O(log_level), 0, 0},
    {"log", "max_bytes", C_INT64, O(log_max_bytes), 64 * KIB, 10 * GIB},
};
#undef O

/* Tables that may hold keys or other tables. */
static const char *const sections[] = {
    "scheduler",
    "scheduler.delivery",
    "scheduler.delivery.custom",
    "api",
    "store",
    "agents",
    "agentpin",
    "log",
};

struct loader {
    const char *file;
    struct symbi_config *cfg;
    struct symbi_err *err;
};

static int cfail(struct loader *l, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int cfail(struct loader *l, int line, const char *key, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return symbi_err_set(l->err, SYMBI_EINVAL, "%s:%d: %s: %s", l->file, line, key, msg);
}

/* Listen addresses: host:port, [v6]:port, :port. */
static bool listen_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon[1] == '\0')
        return false;
    if (s[0] == '[' && (colon == s || colon[-1] != ']'))
        return false;
    int port;
    return symbi_parse_int(colon + 1, 1, 65535, &port) == 0;
}

/* A TOML value as JSON (NULL when out of memory). */
static json_t *toml_json(const struct toml_value *v)
{
    switch (v->kind) {
    case TOML_STRING:
        return json_stringn(v->s, v->len);
    case TOML_INT:
        return json_integer(v->i);
    case TOML_FLOAT:
        return json_real(v->d);
    case TOML_BOOL:
        return json_boolean(v->b);
    case TOML_ARRAY: {
        json_t *a = json_array();
        for (const struct toml_value *it = v->items; a != NULL && it != NULL; it = it->next)
            if (json_array_append_new(a, toml_json(it)) != 0) {
                json_decref(a);
                a = NULL;
            }
        return a;
    }
    case TOML_TABLE: {
        json_t *o = json_object();
        for (const struct toml_kv *kv = v->kvs; o != NULL && kv != NULL; kv = kv->next)
            if (json_object_set_new(o, kv->key, toml_json(kv->value)) != 0) {
                json_decref(o);
                o = NULL;
            }
        return o;
    }
    }
    return NULL;
}

/* A sandbox table (inline or [agents.default_sandbox]) kept as JSON text
 * once it passes the agent module's check. */
static int apply_sandbox(struct loader *l, const struct ckey *k, const struct toml_value *v,
                         int line, const char *full)
{
    if (v->kind != TOML_TABLE)
        return cfail(l, line, full, "expected a table (like { isolate = true }), found %s",
                     toml_kind_name(v->kind));
    json_t *j = toml_json(v);
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL)
        return symbi_err_set(l->err, SYMBI_ENOMEM, "out of memory");
    struct symbi_sandbox sb;
    struct symbi_err e;
    symbi_err_clear(&e);
    int rc = symbi_agent_sandbox_parse(text, &sb, &e);
    symbi_agent_sandbox_cleanup(&sb);
    if (rc != 0) {
        free(text);
        return cfail(l, line, full, "%s", e.msg);
    }
    char **slot = (char **)((char *)l->cfg + k->off);
    free(*slot);
    *slot = text;
    return 0;
}

/* Applies one value to its key; full is "section.key" for messages. */
static int apply(struct loader *l, const struct ckey *k, const struct toml_value *v, int line,
                 const char *full)
{
    char *base = (char *)l->cfg;
    switch (k->type) {
    case C_SANDBOX:
        return apply_sandbox(l, k, v, line, full);
    case C_STRING:
    case C_ZONE:
    case C_LISTEN:
    case C_LOGLEVEL: {
        if (v->kind != TOML_STRING)
            return cfail(l, line, full, "expected a string, found %s", toml_kind_name(v->kind));
        if (k->type == C_ZONE) {
            struct symbi_err ze;
            symbi_err_clear(&ze);
            if (symbi_zone_validate(v->s, &ze) != 0)
                return cfail(l, line, full, "%s", ze.msg);
        }
        if (k->type == C_LISTEN && !listen_ok(v->s))
            return cfail(l, line, full, "\"%s\" is not an address HOST:PORT", v->s);
        enum symbi_log_level lv;
        if (k->type == C_LOGLEVEL && symbi_log_level_parse(v->s, &lv) != 0)
            return cfail(l, line, full, "\"%s\" is not a log level (debug, info, warn, error, off)",
                         v->s);
        if (symbi_set_str((char **)(base + k->off), v->s) != 0)
            return symbi_err_set(l->err, SYMBI_ENOMEM, "out of memory");
        return 0;
    }
    case C_SECONDS: {
        int64_t ms;
        if (v->kind == TOML_INT) {
            if (v->i < 0 || v->i > INT64_MAX / 1000)
                return cfail(l, line, full, "%lld is out of range", (long long)v->i);
            ms = v->i * 1000;
        } else if (v->kind == TOML_FLOAT) {
            if (!(v->d >= 0 && v->d < 1e12))
                return cfail(l, line, full, "%g is out of range", v->d);
            ms = (int64_t)llround(v->d * 1000);
        } else if (v->kind == TOML_STRING) {
            if (symbi_parse_duration_ms(v->s, &ms) != 0)
                return cfail(l, line, full, "\"%s\" is not a duration (e.g. 30, 1.5, \"30s\")",
                             v->s);
        } else {
            return cfail(l, line, full, "expected a number of seconds, found %s",
                         toml_kind_name(v->kind));
        }
        if (ms < k->lo || ms > k->hi) {
            char a[32], b[32];
            return cfail(l, line, full, "must be between %s and %s",
                         k->lo == 0 ? "0s" : symbi_duration_fmt(k->lo, a),
                         symbi_duration_fmt(k->hi, b));
        }
        *(int64_t *)(base + k->off) = ms;
        return 0;
    }
    case C_INT:
    case C_INT64:
        if (v->kind != TOML_INT)
            return cfail(l, line, full, "expected an integer, found %s", toml_kind_name(v->kind));
        if (v->i < k->lo || v->i > k->hi)
            return cfail(l, line, full, "must be between %lld and %lld (got %lld)",
                         (long long)k->lo, (long long)k->hi, (long long)v->i);
        if (k->type == C_INT)
            *(int *)(base + k->off) = (int)v->i;
        else
            *(int64_t *)(base + k->off) = v->i;
        return 0;
    case C_BOOL:
        if (v->kind != TOML_BOOL)
            return cfail(l, line, full, "expected true or false, found %s",
                         toml_kind_name(v->kind));
        *(bool *)(base + k->off) = v->b;
        return 0;
    }
    return SYMBI_EINVAL;
}

static int add_custom(struct loader *l, const char *name, const struct toml_value *t, int line)
{
    char full[300];
    snprintf(full, sizeof full, "scheduler.delivery.custom.%s", name);
    if (t->kind != TOML_TABLE)
        return cfail(l, line, full, "expected a table with `command`");
    bool ok = *name != '\0' && strlen(name) <= 64;
    for (const char *q = name; *q != '\0' && ok; q++)
        ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
             *q == '_' || *q == '-';
    if (!ok)
        return cfail(l, line, full, "a channel name holds letters, digits, '_' and '-'");
    if (symbi_dsl_builtin_channel(name))
        return cfail(l, line, full, "`%s` is a built-in channel", name);
    const char *command = NULL;
    for (const struct toml_kv *kv = t->kvs; kv != NULL; kv = kv->next) {
        char kfull[400];
        snprintf(kfull, sizeof kfull, "%s.%s", full, kv->key);
        if (strcmp(kv->key, "command") != 0) {
            static const char *const ck[] = {"command"};
            const char *near = symbi_dsl_nearest(kv->key, ck, 1);
            return cfail(l, kv->line, kfull, "unknown key%s%s%s", near ? "; did you mean `" : "",
                         near ? near : "", near ? "`?" : "");
        }
        if (kv->value->kind != TOML_STRING || kv->value->len == 0)
            return cfail(l, kv->line, kfull, "expected a non-empty string");
        command = kv->value->s;
    }
    if (command == NULL)
        return cfail(l, line, full, "needs `command`");
    struct symbi_config *cfg = l->cfg;
    struct symbi_custom_channel *nc =
        realloc(cfg->custom_channels, (cfg->n_custom_channels + 1) * sizeof *nc);
    if (nc == NULL)
        return symbi_err_set(l->err, SYMBI_ENOMEM, "out of memory");
    cfg->custom_channels = nc;
    struct symbi_custom_channel *c = &nc[cfg->n_custom_channels];
    c->name = symbi_strdup(name);
    c->command = symbi_strdup(command);
    if (c->name == NULL || c->command == NULL) {
        free(c->name);
        free(c->command);
        return symbi_err_set(l->err, SYMBI_ENOMEM, "out of memory");
    }
    cfg->n_custom_channels++;
    return 0;
}

static bool is_section(const char *path)
{
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(sections); i++)
        if (strcmp(sections[i], path) == 0)
            return true;
    return false;
}

/* Walks table t at `path` ("" for the root). */
static int walk(struct loader *l, const struct toml_value *t, const char *path)
{
    for (const struct toml_kv *kv = t->kvs; kv != NULL; kv = kv->next) {
        char full[512];
        snprintf(full, sizeof full, "%s%s%s", path, *path ? "." : "", kv->key);
        if (strcmp(path, "scheduler.delivery.custom") == 0) {
            int rc = add_custom(l, kv->key, kv->value, kv->line);
            if (rc != 0)
                return rc;
            continue;
        }
        if (kv->value->kind == TOML_TABLE && is_section(full)) {
            int rc = walk(l, kv->value, full);
            if (rc != 0)
                return rc;
            continue;
        }
        const struct ckey *k = NULL;
        const char *cands[64];
        size_t nc = 0;
        for (size_t i = 0; i < SYMBI_ARRAY_LEN(keys); i++) {
            if (strcmp(keys[i].section, path) != 0)
                continue;
            if (strcmp(keys[i].key, kv->key) == 0)
                k = &keys[i];
            if (nc < 64)
                cands[nc++] = keys[i].key;
        }
        /* sub-tables of this path are candidates too */
        for (size_t i = 0; i < SYMBI_ARRAY_LEN(sections) && nc < 64; i++) {
            size_t pl = strlen(path);
            const char *s = sections[i];
            if (pl == 0 && strchr(s, '.') == NULL)
                cands[nc++] = s;
            else if (pl > 0 && strncmp(s, path, pl) == 0 && s[pl] == '.' &&
                     strchr(s + pl + 1, '.') == NULL)
                cands[nc++] = s + pl + 1;
        }
        if (k == NULL) {
            const char *near = symbi_dsl_nearest(kv->key, cands, nc);
            if (near != NULL)
                return cfail(l, kv->line, full, "unknown key; did you mean `%s`?", near);
            return cfail(l, kv->line, full, "unknown key");
        }
        int rc = apply(l, k, kv->value, kv->line, full);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int symbi_config_load_buffer(struct symbi_config *cfg, const char *name, const char *text,
                             size_t len, struct symbi_err *err)
{
    struct symbi_arena a;
    symbi_arena_init(&a);
    struct toml_value *root = NULL;
    int rc = toml_parse(name, text, len, &a, &root, err);
    if (rc == 0) {
        struct loader l = {name, cfg, err};
        rc = walk(&l, root, "");
    }
    symbi_arena_cleanup(&a);
    return rc;
}

/* ---- the environment (SPEC §11) ---- */

struct envkey {
    const char *name;
    const char *key; /* the config key it overrides, for its type and bounds */
};

static const struct envkey env_keys[] = {
    {"SYMBI_SCHEDULER_MAX_JITTER", "scheduler.max_jitter_seconds"},
    {"SYMBI_SCHEDULER_MAX_CONCURRENT", "scheduler.max_concurrent_jobs"},
    {"SYMBI_SLACK_TOKEN", "scheduler.delivery.slack_api_token"},
    {"SYMBI_WEBHOOK_AUTH_HEADER", "scheduler.delivery.webhook_auth_header"},
    {"SYMBI_AGENTPIN_REQUIRED", "agentpin.required"},
    {"SYMBI_AGENTPIN_DOMAIN", "agentpin.domain"},
    {"SYMBI_ENVIRONMENT", "environment"},
    {"SYMBI_API_KEY", "api.api_key"},
    {"SYMBI_API_UPSTREAM_HEALTH", "api.upstream_health"},
    {"SYMBI_STORE", "store.url"},
    {"SYMBI_LLM_ENDPOINT", "agents.llm_endpoint"},
};

static const struct ckey *find_key(const char *dotted)
{
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(keys); i++) {
        size_t sl = strlen(keys[i].section);
        if (sl == 0 ? strcmp(keys[i].key, dotted) == 0
                    : strncmp(dotted, keys[i].section, sl) == 0 && dotted[sl] == '.' &&
                          strcmp(dotted + sl + 1, keys[i].key) == 0)
            return &keys[i];
    }
    return NULL;
}

static int apply_env(struct symbi_config *cfg, struct symbi_err *err)
{
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(env_keys); i++) {
        const char *v = getenv(env_keys[i].name);
        if (v == NULL || *v == '\0')
            continue;
        const struct ckey *k = find_key(env_keys[i].key);
        struct toml_value tv;
        memset(&tv, 0, sizeof tv);
        /* numbers and booleans are typed from the text */
        if (k->type == C_BOOL) {
            bool b;
            if (symbi_parse_bool(v, &b) != 0)
                return symbi_err_set(err, SYMBI_EINVAL, "%s: \"%s\" is not true or false",
                                     env_keys[i].name, v);
            tv.kind = TOML_BOOL;
            tv.b = b;
        } else if (k->type == C_INT || k->type == C_INT64) {
            if (symbi_parse_i64(v, INT64_MIN, INT64_MAX, &tv.i) != 0)
                return symbi_err_set(err, SYMBI_EINVAL, "%s: \"%s\" is not an integer",
                                     env_keys[i].name, v);
            tv.kind = TOML_INT;
        } else {
            tv.kind = TOML_STRING; /* durations parse "30" as seconds */
            tv.s = v;
            tv.len = strlen(v);
        }
        struct loader l = {"environment", cfg, err};
        struct symbi_err e2;
        l.err = &e2;
        int rc = apply(&l, k, &tv, 0, env_keys[i].key);
        if (rc != 0) {
            /* "environment:0: KEY: msg" -> "NAME (KEY): msg" */
            const char *msg = strstr(e2.msg, ": ");
            msg = msg != NULL ? strstr(msg + 2, ": ") : NULL;
            return symbi_err_set(err, rc, "%s (%s): %s", env_keys[i].name, env_keys[i].key,
                                 msg != NULL ? msg + 2 : e2.msg);
        }
    }
    return 0;
}

/* ---- files and directories ---- */

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s != NULL)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int read_file(const char *path, char **out, size_t *len, struct symbi_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return symbi_err_set(err, SYMBI_EIO, "%s: cannot read: %s", path, strerror(errno));
    struct symbi_buf b;
    symbi_buf_init(&b, TOML_MAX_FILE);
    char chunk[8192];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            symbi_buf_cleanup(&b);
            return symbi_err_set(err, SYMBI_EIO, "%s: cannot read: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        int rc = symbi_buf_append(&b, chunk, (size_t)n);
        if (rc != 0) {
            close(fd);
            symbi_buf_cleanup(&b);
            if (rc == SYMBI_ETOOBIG)
                return symbi_err_set(err, SYMBI_EINVAL,
                                     "%s: file too large (the limit is %d bytes)", path,
                                     TOML_MAX_FILE);
            return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
        }
    }
    close(fd);
    *len = b.len;
    *out = symbi_buf_steal(&b);
    return 0;
}

/* The configuration file in effect (heap), or NULL when none; *must_exist
 * when it was named explicitly. */
static char *choose_file(const char *path, bool *must_exist)
{
    *must_exist = true;
    if (path != NULL)
        return symbi_strdup(path);
    const char *v = getenv("SYMBI_CONFIG");
    if (v != NULL && *v != '\0')
        return symbi_strdup(v);
    *must_exist = false;
    if (exists("symbi.toml"))
        return symbi_strdup("symbi.toml");
    v = getenv("XDG_CONFIG_HOME");
    char *xdg = NULL;
    if (v != NULL && *v != '\0') {
        xdg = join(v, "symbi/symbi.toml");
    } else {
        v = getenv("HOME");
        if (v != NULL && *v != '\0')
            xdg = join(v, ".config/symbi/symbi.toml");
    }
    if (xdg != NULL && exists(xdg))
        return xdg;
    free(xdg);
    return NULL;
}

static int resolve_data_dir(struct symbi_config *cfg, const char *flag)
{
    const char *v;
    char *dir = NULL;
    if (flag != NULL)
        dir = symbi_strdup(flag);
    else if ((v = getenv("SYMBI_HOME")) != NULL && *v != '\0')
        dir = symbi_strdup(v);
    else if (cfg->data_dir != NULL)
        return 0; /* from the file */
    else if ((v = getenv("XDG_DATA_HOME")) != NULL && *v != '\0')
        dir = join(v, "symbi");
    else
        dir = join((v = getenv("HOME")) != NULL && *v != '\0' ? v : ".", ".local/share/symbi");
    if (dir == NULL)
        return SYMBI_ENOMEM;
    free(cfg->data_dir);
    cfg->data_dir = dir;
    return 0;
}

int symbi_config_load(struct symbi_config *cfg, const char *path, const char *data_dir_flag,
                      struct symbi_err *err)
{
    /* build a complete new configuration, then swap it in */
    struct symbi_config next;
    symbi_config_init(&next);
    bool must_exist;
    char *file = choose_file(path, &must_exist);
    int rc = 0;
    if (file != NULL) {
        char *text = NULL;
        size_t len = 0;
        if (!must_exist && !exists(file)) {
            free(file);
            file = NULL;
        } else if ((rc = read_file(file, &text, &len, err)) == 0) {
            rc = symbi_config_load_buffer(&next, file, text, len, err);
            free(text);
        }
        next.config_file = file;
    }
    if (rc == 0)
        rc = apply_env(&next, err);
    if (rc == 0 && resolve_data_dir(&next, data_dir_flag) != 0)
        rc = symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    if (rc == 0 && fill_string_defaults(&next) != 0)
        rc = symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    if (rc != 0) {
        symbi_config_cleanup(&next);
        return rc;
    }
    symbi_config_cleanup(cfg);
    *cfg = next;
    return 0;
}

/* ---- ${VAR} ---- */

char *symbi_config_expand(const char *value)
{
    if (value == NULL)
        return NULL;
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    int rc = 0;
    for (const char *p = value; *p != '\0' && rc == 0;) {
        if (p[0] == '$' && p[1] == '{') {
            const char *name = p + 2, *q = name;
            if ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || *q == '_') {
                while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') ||
                       (*q >= '0' && *q <= '9') || *q == '_')
                    q++;
                const char *def = NULL, *close = q;
                if (q[0] == ':' && q[1] == '-') {
                    def = q + 2;
                    close = strchr(def, '}');
                }
                if (close != NULL && *close == '}' && q - name < 256) {
                    char var[256];
                    memcpy(var, name, (size_t)(q - name));
                    var[q - name] = '\0';
                    const char *v = getenv(var);
                    if (v != NULL && *v != '\0')
                        rc = symbi_buf_puts(&b, v);
                    else if (def != NULL)
                        rc = symbi_buf_append(&b, def, (size_t)(close - def));
                    p = close + 1;
                    continue;
                }
            }
        }
        rc = symbi_buf_putc(&b, *p++);
    }
    if (rc != 0) {
        symbi_buf_cleanup(&b);
        return NULL;
    }
    return symbi_buf_steal(&b);
}

char *symbi_config_store_url(const struct symbi_config *cfg)
{
    if (cfg->store_url != NULL) {
        /* the URL may hold credentials as ${VAR} */
        return symbi_config_expand(cfg->store_url);
    }
    if (cfg->data_dir == NULL)
        return NULL;
    return join(cfg->data_dir, "symbi.db");
}
