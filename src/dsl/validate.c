/* validate.c - the one semantic validation of a job and of an agent
 * definition, shared by the DSL, `symbi cron add --json` and the HTTP API so
 * that the same mistake gets the same message everywhere. */
#include "dsl/dsl_int.h"
#include "symbi/policy.h"

#include "symbi/agent.h"
#include "symbi/cron.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN    128
#define URL_MAX_LEN     2048
#define INPUT_MAX_LEN   (1024 * 1024)
#define JWT_MAX_LEN     (8 * 1024)
#define MAX_CHANNELS    64
#define MAX_HEADERS     64
#define MAX_RECIPIENTS  256
#define MAX_CONCURRENT  10000
#define MAX_RETRIES     1000
#define MAX_ITERATIONS  10000
#define DAY_MS          (24LL * 3600 * 1000)
#define MAX_TOKENS      1000000
#define MAX_COMMAND_LEN (64 * 1024)

static const char *const builtin_channels[] = {"stdout", "log_file", "webhook", "slack", "email"};

bool symbi_dsl_builtin_channel(const char *name)
{
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(builtin_channels); i++)
        if (strcmp(builtin_channels[i], name) == 0)
            return true;
    return false;
}

static bool has_ctl(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

static bool has_space_or_ctl(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return true;
    return false;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Job and agent names: a letter or digit, then letters, digits, '.', '_',
 * '-' (they become file names, URL path segments and metric labels). */
static int check_name(const char *s, const char **field, struct symbi_err *err)
{
    if (s == NULL || *s == '\0')
        return symbi_err_field(field, "name", err, "is required");
    size_t n = strlen(s);
    if (n > NAME_MAX_LEN)
        return symbi_err_field(field, "name", err, "longer than %d characters", NAME_MAX_LEN);
    if (!is_alnum(s[0]))
        return symbi_err_field(field, "name", err, "\"%s\" must start with a letter or digit", s);
    for (const char *q = s; *q != '\0'; q++)
        if (!is_alnum(*q) && *q != '.' && *q != '_' && *q != '-')
            return symbi_err_field(field, "name", err,
                                   "\"%s\" may hold only letters, digits, '.', '_' and '-'", s);
    return 0;
}

static bool has_var(const char *s)
{
    return strstr(s, "${") != NULL;
}

/* An http(s) URL with a host, or a value holding ${VAR} (checked at use). */
static int check_url(const char *s, const char *f, const char **field, struct symbi_err *err)
{
    if (*s == '\0')
        return symbi_err_field(field, f, err, "must not be empty");
    if (strlen(s) > URL_MAX_LEN)
        return symbi_err_field(field, f, err, "longer than %d characters", URL_MAX_LEN);
    if (has_space_or_ctl(s))
        return symbi_err_field(field, f, err, "\"%s\" holds spaces or control characters", s);
    if (has_var(s))
        return 0;
    const char *host = NULL;
    if (strncmp(s, "http://", 7) == 0)
        host = s + 7;
    else if (strncmp(s, "https://", 8) == 0)
        host = s + 8;
    if (host == NULL || *host == '\0' || *host == '/' || *host == '?' || *host == '#')
        return symbi_err_field(field, f, err, "\"%s\" is not an http:// or https:// URL", s);
    return 0;
}

static bool env_name_ok(const char *s)
{
    if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return false;
    for (const char *q = s; *q != '\0'; q++)
        if (!is_alnum(*q) && *q != '_')
            return false;
    return strlen(s) <= 128;
}

/* A json_loads that failed for want of memory: SYMBI_ENOMEM, never
 * reported as a bad value (the torture test found "capabilities: must be an
 * array of strings" for an allocation failure). `je` must be zeroed before
 * the call: jansson does not set the error's code (its text's last byte)
 * when its lexer's first allocation fails, and returns NULL with no error
 * text then, the one way it fails without one (valgrind found the code read
 * uninitialised under the torture test). */
static bool loads_oom(const json_t *v, const json_error_t *je)
{
    return v == NULL && (json_error_code(je) == json_error_out_of_memory || je->text[0] == '\0');
}

/* JSON text of an array of strings (1..max items when nonempty). */
static int check_str_array(const char *text, const char *f, size_t max, bool nonempty, json_t **out,
                           const char **field, struct symbi_err *err)
{
    json_error_t je = {0};
    json_t *a = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (loads_oom(a, &je))
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    if (a == NULL || !json_is_array(a)) {
        json_decref(a);
        return symbi_err_field(field, f, err, "must be an array of strings");
    }
    size_t n = json_array_size(a);
    if (nonempty && n == 0) {
        json_decref(a);
        return symbi_err_field(field, f, err, "must not be empty");
    }
    if (n > max) {
        json_decref(a);
        return symbi_err_field(field, f, err, "more than %zu items", max);
    }
    for (size_t i = 0; i < n; i++) {
        if (!json_is_string(json_array_get(a, i))) {
            json_decref(a);
            return symbi_err_field(field, f, err, "must be an array of strings");
        }
    }
    *out = a;
    return 0;
}

static int check_delivery(const struct symbi_job *job, const char **field, struct symbi_err *err)
{
    json_t *a;
    int rc = check_str_array(job->delivery, "delivery", MAX_CHANNELS, false, &a, field, err);
    if (rc != 0)
        return rc;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *ch = json_string_value(v);
        bool ok = *ch != '\0' && strlen(ch) <= 64;
        for (const char *q = ch; *q != '\0' && ok; q++)
            ok = is_alnum(*q) || *q == '_' || *q == '-';
        if (!ok) {
            rc = symbi_err_field(
                field, "delivery", err,
                "bad channel name \"%s\" (stdout, log_file, webhook, slack, email or a "
                "custom channel name)",
                ch);
            break;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(json_string_value(json_array_get(a, j)), ch) == 0) {
                rc = symbi_err_field(field, "delivery", err, "channel \"%s\" is listed twice", ch);
                break;
            }
        }
        if (rc != 0)
            break;
        if (strcmp(ch, "webhook") == 0 && job->webhook_url == NULL) {
            rc = symbi_err_field(field, "delivery", err, "channel \"webhook\" needs webhook_url");
            break;
        }
        if (strcmp(ch, "email") == 0 && job->email_recipients == NULL) {
            rc =
                symbi_err_field(field, "delivery", err, "channel \"email\" needs email_recipients");
            break;
        }
    }
    json_decref(a);
    return rc;
}

static int check_headers(const char *text, const char **field, struct symbi_err *err)
{
    json_error_t je = {0};
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    int rc = 0;
    if (loads_oom(o, &je))
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    if (o == NULL || !json_is_object(o)) {
        json_decref(o);
        return symbi_err_field(field, "webhook_headers", err,
                               "must be a map of header names to strings");
    }
    if (json_object_size(o) > MAX_HEADERS) {
        json_decref(o);
        return symbi_err_field(field, "webhook_headers", err, "more than %d headers", MAX_HEADERS);
    }
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool ok = *k != '\0' && strlen(k) <= 256;
        for (const char *q = k; *q != '\0' && ok; q++)
            ok = is_alnum(*q) || strchr("!#$%&'*+-.^_`|~", *q) != NULL;
        if (!ok) {
            rc = symbi_err_field(field, "webhook_headers", err, "\"%s\" is not a valid header name",
                                 k);
            break;
        }
        if (!json_is_string(v)) {
            rc = symbi_err_field(field, "webhook_headers", err,
                                 "the value of \"%s\" must be a string", k);
            break;
        }
        const char *s = json_string_value(v);
        if (strlen(s) > 8192 || strchr(s, '\r') != NULL || strchr(s, '\n') != NULL) {
            rc = symbi_err_field(field, "webhook_headers", err,
                                 "the value of \"%s\" holds a line break or is too long", k);
            break;
        }
    }
    json_decref(o);
    return rc;
}

static int check_recipients(const char *text, const char **field, struct symbi_err *err)
{
    json_t *a;
    int rc = check_str_array(text, "email_recipients", MAX_RECIPIENTS, true, &a, field, err);
    if (rc != 0)
        return rc;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *s = json_string_value(v);
        if (has_var(s) && !has_space_or_ctl(s))
            continue;
        const char *at = strchr(s, '@');
        if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
            has_space_or_ctl(s) || strpbrk(s, "<>,;\"()[]\\") != NULL) {
            rc = symbi_err_field(field, "email_recipients", err, "\"%s\" is not an e-mail address",
                                 s);
            break;
        }
    }
    json_decref(a);
    return rc;
}

/* SPEC §8.1: an unknown key is named with the nearest known one; the
 * values are checked by the typed parser (policy module). */
static int check_policy(const char *text, const char **field, struct symbi_err *err)
{
    json_error_t je = {0};
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (loads_oom(o, &je))
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < symbi_policy_n_keys && !known; i++)
            known = strcmp(symbi_policy_keys[i], k) == 0;
        if (known)
            continue;
        const char *near = symbi_dsl_nearest(k, symbi_policy_keys, symbi_policy_n_keys);
        int rc = near != NULL ? symbi_err_field(field, "policy", err,
                                                "unknown key `%s`; did you mean `%s`?", k, near)
                              : symbi_err_field(field, "policy", err, "unknown key `%s`", k);
        json_decref(o);
        return rc;
    }
    json_decref(o);
    struct symbi_policy pol;
    int rc = symbi_policy_parse(text, &pol, field, err);
    symbi_policy_cleanup(&pol);
    return rc;
}

static int check_log_file(const char *s, const char **field, struct symbi_err *err)
{
    if (*s == '\0' || strlen(s) > 1024 || has_ctl(s))
        return symbi_err_field(field, "log_file", err,
                               "must be a relative path of 1..1024 characters");
    if (s[0] == '/')
        return symbi_err_field(field, "log_file", err,
                               "\"%s\" must be a path relative to the log directory", s);
    for (const char *q = s; *q != '\0';) {
        size_t n = strcspn(q, "/");
        if (n == 2 && q[0] == '.' && q[1] == '.')
            return symbi_err_field(field, "log_file", err,
                                   "\"%s\" must stay inside the log directory", s);
        q += n;
        if (*q == '/')
            q++;
    }
    return 0;
}

int symbi_job_validate_field(const struct symbi_job *job, const char **field, struct symbi_err *err)
{
    int rc = check_name(job->name, field, err);
    if (rc != 0)
        return rc;
    if (job->agent == NULL || *job->agent == '\0')
        return symbi_err_field(field, "agent", err, "is required (the agent to run)");
    if (strlen(job->agent) > NAME_MAX_LEN || has_space_or_ctl(job->agent))
        return symbi_err_field(field, "agent", err, "\"%s\" is not an agent name", job->agent);
    bool has_at = job->at != SYMBI_TIME_NONE;
    if (job->cron_expr != NULL && has_at)
        return symbi_err_field(field, "at", err, "give either cron or at, not both");
    if (job->cron_expr == NULL && !has_at)
        return symbi_err_field(field, "cron", err, "one of cron or at is required");
    if (job->cron_expr != NULL) {
        struct symbi_err ce;
        symbi_err_clear(&ce);
        if ((rc = symbi_cron_validate(job->cron_expr, &ce)) != 0) {
            if (rc == SYMBI_ENOMEM)
                return symbi_err_set(err, rc, "out of memory");
            if (field != NULL)
                *field = "cron";
            if (strncmp(ce.msg, "cron:", 5) == 0)
                return symbi_err_set(err, SYMBI_EINVAL, "%s", ce.msg);
            return symbi_err_set(err, SYMBI_EINVAL, "cron: %s", ce.msg);
        }
    }
    if (job->timezone != NULL) {
        struct symbi_err ze;
        symbi_err_clear(&ze);
        if (*job->timezone == '\0')
            return symbi_err_field(field, "timezone", err, "must not be empty");
        if ((rc = symbi_zone_validate(job->timezone, &ze)) == SYMBI_ENOMEM)
            return symbi_err_set(err, rc, "out of memory");
        if (rc != 0)
            return symbi_err_field(field, "timezone", err, "%s", ze.msg);
    }
    if ((unsigned)job->session_mode > SYMBI_SESSION_FULLY_EPHEMERAL)
        return symbi_err_field(field, "session_mode", err, "unknown session mode");
    if (job->webhook_url != NULL && (rc = check_url(job->webhook_url, "webhook_url", field, err)))
        return rc;
    if (job->slack_webhook_url != NULL &&
        (rc = check_url(job->slack_webhook_url, "slack_webhook_url", field, err)))
        return rc;
    if (job->webhook_headers != NULL && (rc = check_headers(job->webhook_headers, field, err)))
        return rc;
    if (job->email_recipients != NULL && (rc = check_recipients(job->email_recipients, field, err)))
        return rc;
    if (job->slack_channel != NULL &&
        (*job->slack_channel == '\0' || strlen(job->slack_channel) > 256 ||
         has_space_or_ctl(job->slack_channel)))
        return symbi_err_field(field, "slack_channel", err, "\"%s\" is not a channel name",
                               job->slack_channel);
    if (job->log_file != NULL && (rc = check_log_file(job->log_file, field, err)))
        return rc;
    if (job->delivery != NULL && (rc = check_delivery(job, field, err)))
        return rc;
    if (job->policy != NULL && (rc = check_policy(job->policy, field, err)))
        return rc;
    if (job->heartbeat.set) {
        if (job->heartbeat.max_iterations < 1 || job->heartbeat.max_iterations > MAX_ITERATIONS)
            return symbi_err_field(field, "heartbeat.max_iterations", err,
                                   "must be between 1 and %d (got %d)", MAX_ITERATIONS,
                                   job->heartbeat.max_iterations);
        if ((unsigned)job->heartbeat.context_mode > SYMBI_SESSION_FULLY_EPHEMERAL)
            return symbi_err_field(field, "heartbeat.context_mode", err, "unknown session mode");
    }
    if (job->max_concurrent < 1 || job->max_concurrent > MAX_CONCURRENT)
        return symbi_err_field(field, "max_concurrent", err, "must be between 1 and %d (got %d)",
                               MAX_CONCURRENT, job->max_concurrent);
    if (job->max_retries < -1 || job->max_retries > MAX_RETRIES)
        return symbi_err_field(field, "max_retries", err, "must be between 0 and %d (got %d)",
                               MAX_RETRIES, job->max_retries);
    if (job->jitter_ms < -1 || job->jitter_ms > DAY_MS)
        return symbi_err_field(field, "jitter", err, "must be between 0s and 24h");
    if (job->starting_deadline_ms != -1 &&
        (job->starting_deadline_ms < 1000 || job->starting_deadline_ms > 366 * DAY_MS))
        return symbi_err_field(field, "starting_deadline", err, "must be between 1s and 366d");
    if ((unsigned)job->catch_up > SYMBI_CATCH_UP_ALL)
        return symbi_err_field(field, "catch_up", err, "unknown value");
    if ((unsigned)job->dst_gap > SYMBI_DST_GAP_SKIP)
        return symbi_err_field(field, "dst_gap", err, "unknown value");
    if ((unsigned)job->dst_overlap > SYMBI_DST_OVERLAP_BOTH)
        return symbi_err_field(field, "dst_overlap", err, "unknown value");
    if (job->input != NULL && strlen(job->input) > INPUT_MAX_LEN)
        return symbi_err_field(field, "input", err, "longer than %d bytes", INPUT_MAX_LEN);
    if (job->agent_pin_jwt != NULL &&
        (strlen(job->agent_pin_jwt) > JWT_MAX_LEN || has_space_or_ctl(job->agent_pin_jwt)))
        return symbi_err_field(field, "agent_pin_jwt", err,
                               "must be a compact JWT (or ${VAR}) of at most %d bytes",
                               JWT_MAX_LEN);
    if (job->deliver != NULL && strlen(job->deliver) > 1024)
        return symbi_err_field(field, "deliver", err, "longer than 1024 characters");
    if (job->audit != NULL && strlen(job->audit) > 1024)
        return symbi_err_field(field, "audit", err, "longer than 1024 characters");
    return 0;
}

int symbi_job_validate(const struct symbi_job *job, struct symbi_err *err)
{
    return symbi_job_validate_field(job, NULL, err);
}

static int check_env_map(const char *text, const char **field, struct symbi_err *err)
{
    json_error_t je = {0};
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (loads_oom(o, &je))
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    if (o == NULL || !json_is_object(o)) {
        json_decref(o);
        return symbi_err_field(field, "env", err, "must be a map of variable names to strings");
    }
    int rc = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (!env_name_ok(k)) {
            rc =
                symbi_err_field(field, "env", err, "\"%s\" is not an environment variable name", k);
            break;
        }
        if (!json_is_string(v)) {
            rc = symbi_err_field(field, "env", err, "the value of \"%s\" must be a string", k);
            break;
        }
    }
    json_decref(o);
    return rc;
}

/* A tool name as the model APIs accept it: 1..64 of [A-Za-z0-9_-]. */
static bool tool_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (const char *q = s; *q != '\0'; q++)
        if (!is_alnum(*q) && *q != '_' && *q != '-')
            return false;
    return true;
}

/* One declared tool (SPEC §6.2): exactly one of command / exec, an
 * optional description and JSON Schema `parameters` object. */
static int check_tool(const char *name, const json_t *t, const char **field, struct symbi_err *err)
{
    if (!tool_name_ok(name))
        return symbi_err_field(field, "tools", err,
                               "\"%.80s\" is not a tool name (1..64 letters, digits, '_' or '-')",
                               name);
    if (!json_is_object(t))
        return symbi_err_field(field, "tools", err,
                               "%s: must be a map { description, command | exec, "
                               "parameters }",
                               name);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)t, k, v)
    {
        if (strcmp(k, "description") == 0) {
            if (!json_is_string(v) || json_string_length(v) > 4096)
                return symbi_err_field(field, "tools", err,
                                       "%s: description must be a string of at most "
                                       "4096 bytes",
                                       name);
        } else if (strcmp(k, "command") == 0) {
            if (!json_is_string(v) || json_string_length(v) == 0 ||
                json_string_length(v) > MAX_COMMAND_LEN)
                return symbi_err_field(field, "tools", err,
                                       "%s: command must be a non-empty string", name);
        } else if (strcmp(k, "exec") == 0) {
            size_t n = json_array_size(v), i;
            json_t *e;
            if (!json_is_array(v) || n == 0 || n > 256)
                return symbi_err_field(field, "tools", err,
                                       "%s: exec must be a non-empty array of strings", name);
            json_array_foreach(v, i, e)
            {
                if (!json_is_string(e) || (i == 0 && json_string_length(e) == 0))
                    return symbi_err_field(field, "tools", err,
                                           "%s: exec must be a non-empty array of strings", name);
            }
        } else if (strcmp(k, "parameters") == 0) {
            if (!json_is_object(v))
                return symbi_err_field(field, "tools", err,
                                       "%s: parameters must be a map (a JSON Schema object)", name);
        } else if (strcmp(k, "sandbox") == 0) {
            char *text = json_dumps(v, JSON_COMPACT);
            struct symbi_sandbox sb;
            struct symbi_err se;
            symbi_err_clear(&se);
            int rc = text != NULL ? symbi_agent_sandbox_parse(text, &sb, &se) : SYMBI_ENOMEM;
            symbi_agent_sandbox_cleanup(&sb);
            free(text);
            if (rc != 0)
                return symbi_err_field(field, "tools", err, "%s: %s", name,
                                       rc == SYMBI_ENOMEM ? "out of memory" : se.msg);
        } else {
            return symbi_err_field(
                field, "tools", err,
                "%s: unknown key `%.60s` (description, command, exec, parameters, sandbox)", name,
                k);
        }
    }
    bool cmd = json_object_get(t, "command") != NULL, ex = json_object_get(t, "exec") != NULL;
    if (cmd == ex)
        return symbi_err_field(field, "tools", err, "%s: give exactly one of `command` or `exec`",
                               name);
    return 0;
}

static int check_tools(const struct symbi_agent_def *a, const char **field, struct symbi_err *err)
{
    if (a->runner != SYMBI_RUNNER_MODEL)
        return symbi_err_field(field, "tools", err, "only a model agent has tools");
    json_error_t je = {0};
    json_t *o = json_loads(a->tools, JSON_REJECT_DUPLICATES, &je);
    if (loads_oom(o, &je))
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    if (!json_is_object(o)) {
        json_decref(o);
        return symbi_err_field(field, "tools", err,
                               "must be a map of tool names to tool definitions");
    }
    int rc = 0;
    if (json_object_size(o) > SYMBI_AGENT_MAX_TOOLS)
        rc = symbi_err_field(field, "tools", err, "more than %d tools", SYMBI_AGENT_MAX_TOOLS);
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (rc == 0)
            rc = check_tool(k, v, field, err);
    }
    json_decref(o);
    return rc;
}

/* SPEC §6.5: a sandbox confines processes: a command or exec agent's, or
 * a model agent's tools; a builtin runs inside the daemon. */
static int check_sandbox(const struct symbi_agent_def *a, const char **field, struct symbi_err *err)
{
    if (a->runner == SYMBI_RUNNER_BUILTIN)
        return symbi_err_field(field, "sandbox", err,
                               "a builtin runs inside the daemon: there is no process to confine");
    if (a->runner == SYMBI_RUNNER_MODEL && a->tools == NULL)
        return symbi_err_field(field, "sandbox", err,
                               "a model agent's sandbox confines its tools, and this agent "
                               "declares none");
    struct symbi_sandbox sb;
    struct symbi_err se;
    symbi_err_clear(&se);
    int rc = symbi_agent_sandbox_parse(a->sandbox, &sb, &se);
    symbi_agent_sandbox_cleanup(&sb);
    if (rc == 0)
        return 0;
    /* the message already starts with "sandbox: " */
    if (field != NULL)
        *field = "sandbox";
    return symbi_err_set(err, rc, "%s", se.msg);
}

int symbi_agent_def_validate(const struct symbi_agent_def *a, bool allow_no_runner,
                             struct symbi_err *err)
{
    const char **field = NULL;
    int rc = check_name(a->name, field, err);
    if (rc != 0)
        return rc;
    int runners =
        (a->command != NULL) + (a->exec != NULL) + (a->model != NULL) + (a->builtin != NULL);
    if (runners > 1)
        return symbi_err_field(field, "runner", err,
                               "give exactly one of command, exec, model or builtin (%d given)",
                               runners);
    if (runners == 0 && !allow_no_runner)
        return symbi_err_field(field, "runner", err, "give one of command, exec, model or builtin");
    switch (a->runner) {
    case SYMBI_RUNNER_NONE:
        if (runners != 0 || !allow_no_runner)
            return symbi_err_field(field, "runner", err,
                                   "the runner does not match the agent's keys");
        break;
    case SYMBI_RUNNER_COMMAND:
        if (a->command == NULL || *a->command == '\0' || strlen(a->command) > MAX_COMMAND_LEN)
            return symbi_err_field(field, "command", err,
                                   "must be a non-empty command of at most %d bytes",
                                   MAX_COMMAND_LEN);
        break;
    case SYMBI_RUNNER_EXEC: {
        if (a->exec == NULL)
            return symbi_err_field(field, "exec", err, "is required for the exec runner");
        json_t *arr;
        if ((rc = check_str_array(a->exec, "exec", 256, true, &arr, field, err)) != 0)
            return rc;
        bool empty = *json_string_value(json_array_get(arr, 0)) == '\0';
        json_decref(arr);
        if (empty)
            return symbi_err_field(field, "exec", err, "the program name must not be empty");
        break;
    }
    case SYMBI_RUNNER_MODEL:
        if (a->model == NULL || *a->model == '\0' || strlen(a->model) > 256)
            return symbi_err_field(field, "model", err,
                                   "must be a model name of 1..256 characters");
        break;
    case SYMBI_RUNNER_BUILTIN:
        if (a->builtin == NULL ||
            (strcmp(a->builtin, "echo") != 0 && strcmp(a->builtin, "noop") != 0 &&
             strcmp(a->builtin, "fail") != 0))
            return symbi_err_field(field, "builtin", err,
                                   "unknown builtin \"%s\" (echo, noop or fail)",
                                   a->builtin != NULL ? a->builtin : "");
        break;
    default:
        return symbi_err_field(field, "runner", err, "unknown runner");
    }
    json_t *arr;
    if (a->capabilities != NULL) {
        if ((rc = check_str_array(a->capabilities, "capabilities", 256, false, &arr, field, err)))
            return rc;
        json_decref(arr);
    }
    if (a->env != NULL && (rc = check_env_map(a->env, field, err)) != 0)
        return rc;
    if (a->workdir != NULL && (*a->workdir == '\0' || strlen(a->workdir) > 4096))
        return symbi_err_field(field, "workdir", err, "must be a path of 1..4096 characters");
    if (a->timeout_ms != -1 && (a->timeout_ms < 1 || a->timeout_ms > 7 * DAY_MS))
        return symbi_err_field(field, "timeout", err, "must be between 1ms and 7d");
    if (a->endpoint != NULL && (rc = check_url(a->endpoint, "endpoint", field, err)) != 0)
        return rc;
    if (a->api_key_env != NULL && !env_name_ok(a->api_key_env))
        return symbi_err_field(field, "api_key_env", err,
                               "\"%s\" is not an environment variable name", a->api_key_env);
    if (a->temperature >= 0 && a->temperature > 2)
        return symbi_err_field(field, "temperature", err, "must be between 0 and 2");
    if (a->max_tokens < 0 || a->max_tokens > MAX_TOKENS)
        return symbi_err_field(field, "max_tokens", err, "must be between 1 and %d", MAX_TOKENS);
    if (a->api != NULL && strcmp(a->api, "openai") != 0 && strcmp(a->api, "anthropic") != 0)
        return symbi_err_field(field, "api", err, "unknown api \"%.60s\" (openai or anthropic)",
                               a->api);
    if (a->max_tool_calls != -1 &&
        (a->max_tool_calls < 1 || a->max_tool_calls > SYMBI_AGENT_MAX_TOOL_CALLS))
        return symbi_err_field(field, "max_tool_calls", err, "must be between 1 and %d",
                               SYMBI_AGENT_MAX_TOOL_CALLS);
    if (a->tools != NULL && (rc = check_tools(a, field, err)) != 0)
        return rc;
    if (a->sandbox != NULL && (rc = check_sandbox(a, field, err)) != 0)
        return rc;
    return 0;
}
