/* json.h - the JSON shapes of the data model (SPEC §9.1), shared by the CLI
 * (--format json), the HTTP API and `symbi dsl check --format json`, so that
 * every edge shows a job or a run the same way. Uses Jansson. */
#ifndef SYMBI_JSON_H
#define SYMBI_JSON_H

#include "symbi/model.h"

#include <jansson.h>

/* A job as the §9.1 API answers it: id, name, agent_id, cron_expr, at,
 * timezone, status, session_mode, delivery, webhook_url, webhook_headers,
 * slack_channel, slack_webhook_url, email_recipients, log_file, policy,
 * heartbeat, max_concurrent, max_retries, jitter, catch_up,
 * starting_deadline, dst_gap, dst_overlap, input, one_shot, deliver, audit,
 * source, created_at, updated_at, last_run, next_run, run_count,
 * failure_count. With mask_secrets, webhook_headers values and
 * agent_pin_jwt print as "***", webhook_url and slack_webhook_url through
 * symbi_url_mask (agent_pin_jwt is omitted otherwise unless
 * set). New reference; NULL on out of memory. */
json_t *symbi_job_to_json(const struct symbi_job *job, bool mask_secrets);
/* url with its secret parts as "***" (mask.c): userinfo, every query
 * value, the fragment and path segments that read like tokens (24+
 * characters, or 16+ mixing letters and digits); a value that is no URL
 * becomes "***" unless it is an unexpanded "${VAR}". Heap (caller frees);
 * NULL for NULL or out of memory. */
char *symbi_url_mask(const char *url);

/* Applies the create/update fields of obj (§9.1 names and aliases:
 * agent_id|agent|agent_name, cron_expr|cron|cron_expression, ...) onto
 * job; keys absent from obj leave job unchanged. Checks JSON types, enum
 * strings, durations and bounds, not cron or zone semantics
 * (symbi_job_validate in dsl.h does those). On error returns SYMBI_EINVAL
 * with err->msg naming the field and *bad_field (static string) set to
 * it; job may be half-changed, so apply to a copy. */
int symbi_job_apply_json(struct symbi_job *job, const json_t *obj, const char **bad_field,
                         struct symbi_err *err);

/* A run with every §4.2 field. New reference. */
json_t *symbi_run_to_json(const struct symbi_run *run);
json_t *symbi_agent_def_to_json(const struct symbi_agent_def *a);
json_t *symbi_audit_event_to_json(const struct symbi_audit_event *e);
/* RFC 3339 string, or JSON null for SYMBI_TIME_NONE. */
json_t *symbi_json_time(int64_t ms);
/* Parses JSON text of a stored array/map field (NULL/empty -> NULL). */
json_t *symbi_json_parse_field(const char *text);
/* A JSON string of the len bytes at s; bytes that are not UTF-8 become
 * U+FFFD so the document stays valid (agent output may hold anything).
 * New reference; NULL on out of memory. */
json_t *symbi_json_text(const char *s, size_t len);
/* Compact JSON text of v (heap), NULL for NULL. */
char *symbi_json_dump_compact(const json_t *v);

#endif
