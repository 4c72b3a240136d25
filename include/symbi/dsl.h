/* dsl.h - `.symbi` files (SPEC §2): the lexer, parser and validator that turn
 * agent and schedule blocks into struct symbi_job / symbi_agent_def, and the
 * one semantic validation of a job shared by the DSL, the CLI and the API. */
#ifndef SYMBI_DSL_H
#define SYMBI_DSL_H

#include "symbi/model.h"

#define SYMBI_DSL_MAX_FILE  (1024 * 1024) /* bytes per file (SPEC §15) */
#define SYMBI_DSL_MAX_DEPTH 32            /* nested arrays/maps/blocks */
#define SYMBI_DSL_MAX_DIAGS 50            /* diagnostics kept per file */

enum symbi_dsl_severity {
    SYMBI_DSL_ERROR = 0,
    SYMBI_DSL_WARNING, /* reported, but the file still loads */
};

/* One diagnostic. line and col are 1-based (col counts characters, not
 * bytes); line 0 means "the whole file" (unreadable, too large). */
struct symbi_dsl_diag {
    char *file;
    int line;
    int col;
    enum symbi_dsl_severity severity;
    char *message;
};

/* A named policy (SPEC §8.3): a top-level `policy NAME { ... }` block in the
 * keys of §8.1, as compact JSON. */
struct symbi_dsl_policy {
    char *name;
    char *json;
    int line;
    int col;
};

/* The definitions of one file. Every string is heap-owned by the struct;
 * symbi_dsl_file_cleanup frees it all. */
struct symbi_dsl_file {
    char *path;
    struct symbi_job *jobs; /* source = "dsl:<path>", status active */
    size_t n_jobs;
    struct symbi_agent_def *agents; /* source = "dsl:<path>" */
    size_t n_agents;
    struct symbi_dsl_diag *diags; /* in file order */
    size_t n_diags;
    size_t n_errors;                   /* diagnostics of severity error */
    struct symbi_dsl_policy *policies; /* its valid named policies, in file order */
    size_t n_policies;
};

/* Parses and validates text (len bytes, need not be NUL-terminated) named
 * `name` in diagnostics. out is initialised by the call and must be cleaned
 * up whatever it returns. Returns 0 when there is no error (warnings
 * allowed), SYMBI_EPARSE when out->diags holds errors (out->jobs and
 * out->agents then hold only the definitions that were valid), SYMBI_ENOMEM. */
int symbi_dsl_parse_buffer(const char *name, const char *text, size_t len,
                           struct symbi_dsl_file *out);
/* Reads path (at most SYMBI_DSL_MAX_FILE bytes) and parses it. An unreadable
 * or too large file is SYMBI_EPARSE with one line-0 diagnostic. */
int symbi_dsl_parse_file(const char *path, struct symbi_dsl_file *out);
void symbi_dsl_file_cleanup(struct symbi_dsl_file *f);
/* As symbi_dsl_parse_file, with the named policies of the files loaded
 * together with it (`shared`, n_shared of them, borrowed) available to its
 * schedules' `policy: "NAME"`; the file's own blocks come first. */
int symbi_dsl_parse_file_shared(const char *path, const struct symbi_dsl_policy *shared,
                                size_t n_shared, struct symbi_dsl_file *out);
/* Parses every file of paths twice when any defines named policies, so
 * that `policy: "NAME"` resolves across them (a file's own definition
 * first, else the first one in path order);
 * files[i] (initialised by the call, cleaned up by the caller) gets
 * paths[i]'s result, rcs[i] its return code. SYMBI_ENOMEM, else 0. */
int symbi_dsl_parse_files(const char *const *paths, size_t n, struct symbi_dsl_file *files,
                          int *rcs);

/* Formats one diagnostic as `file:line:col: error: message` (or
 * `file: error: message` for line 0) into out; returns out. */
char *symbi_dsl_diag_fmt(const struct symbi_dsl_diag *d, char *out, size_t size);
/* Puts the file's first error (and how many more there are) into err with
 * code SYMBI_EPARSE; returns SYMBI_EPARSE (0 when there is no error). */
int symbi_dsl_file_error(const struct symbi_dsl_file *f, struct symbi_err *err);
/* The job named `name` in f, or NULL. */
const struct symbi_job *symbi_dsl_find_job(const struct symbi_dsl_file *f, const char *name);

/* The semantic validation of a job, whatever its origin (DSL, `cron add
 * --json`, the HTTP API): name and agent present and well-formed; exactly
 * one of cron_expr / at; cron syntax and time zone (via the cron module);
 * delivery channel names and the settings they need (webhook_url for
 * `webhook`, email_recipients for `email`); URL, header, e-mail and policy
 * shapes; heartbeat and numeric bounds. Returns 0, or SYMBI_EINVAL with
 * err->msg naming the field ("cron: ...", "delivery: ..."). */
int symbi_job_validate(const struct symbi_job *job, struct symbi_err *err);
/* As symbi_job_validate, also setting *field (static string, e.g. "cron",
 * "policy.max_runtime", "webhook_headers") to the field at fault. */
int symbi_job_validate_field(const struct symbi_job *job, const char **field,
                             struct symbi_err *err);

/* Validates an agent definition: a well-formed name, exactly one runner
 * (none allowed only when allow_no_runner), builtin names, JSON shapes of
 * exec/capabilities/env, bounds. SYMBI_EINVAL with err->msg. */
int symbi_agent_def_validate(const struct symbi_agent_def *a, bool allow_no_runner,
                             struct symbi_err *err);

/* Built-in delivery channel names: stdout, log_file, webhook, slack, email. */
bool symbi_dsl_builtin_channel(const char *name);

/* The nearest of `n` candidates to `word` by edit distance (at most 2, and
 * less than the word's length), or NULL. For "did you mean" messages. */
const char *symbi_dsl_nearest(const char *word, const char *const *candidates, size_t n);

#endif
