/* validate_each.c - every validator error of one job, not just the first:
 * validate, report, set the failing field to a harmless value, repeat. */
#include "dsl/dsl_int.h"

#include <stdlib.h>
#include <string.h>

#define EACH_MAX 32 /* errors reported per job at most */

static void clear_str(char **s)
{
    free(*s);
    *s = NULL;
}

/* Makes `field` of job pass validation; false when the field is not known
 * (the loop then stops rather than report the same error again). */
static bool neutralise(struct symbi_job *job, const char *field)
{
    static const struct {
        const char *name;
        size_t off;
    } strs[] = {
        {"timezone", offsetof(struct symbi_job, timezone)},
        {"webhook_url", offsetof(struct symbi_job, webhook_url)},
        {"slack_webhook_url", offsetof(struct symbi_job, slack_webhook_url)},
        {"webhook_headers", offsetof(struct symbi_job, webhook_headers)},
        {"email_recipients", offsetof(struct symbi_job, email_recipients)},
        {"slack_channel", offsetof(struct symbi_job, slack_channel)},
        {"log_file", offsetof(struct symbi_job, log_file)},
        {"delivery", offsetof(struct symbi_job, delivery)},
        {"policy", offsetof(struct symbi_job, policy)},
        {"input", offsetof(struct symbi_job, input)},
        {"agent_pin_jwt", offsetof(struct symbi_job, agent_pin_jwt)},
        {"deliver", offsetof(struct symbi_job, deliver)},
        {"audit", offsetof(struct symbi_job, audit)},
    };
    size_t n = strcspn(field, ".");
    /* fields that delivery channels need get a valid stand-in, not NULL, so
     * that `delivery` does not then complain that they are missing */
    static const struct {
        const char *name;
        size_t off;
        const char *value;
    } standins[] = {
        {"webhook_url", offsetof(struct symbi_job, webhook_url), "https://example.invalid/"},
        {"slack_webhook_url", offsetof(struct symbi_job, slack_webhook_url),
         "https://example.invalid/"},
        {"email_recipients", offsetof(struct symbi_job, email_recipients),
         "[\"x@example.invalid\"]"},
        {"slack_channel", offsetof(struct symbi_job, slack_channel), "#x"},
    };
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(standins); i++)
        if (strlen(standins[i].name) == n && strncmp(field, standins[i].name, n) == 0)
            return symbi_set_str((char **)((char *)job + standins[i].off), standins[i].value) == 0;
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(strs); i++) {
        if (strlen(strs[i].name) == n && strncmp(field, strs[i].name, n) == 0) {
            clear_str((char **)((char *)job + strs[i].off));
            return true;
        }
    }
    if (strcmp(field, "name") == 0 || strcmp(field, "agent") == 0)
        return symbi_set_str(strcmp(field, "name") == 0 ? &job->name : &job->agent, "x") == 0;
    if (strcmp(field, "cron") == 0) {
        job->at = SYMBI_TIME_NONE;
        return symbi_set_str(&job->cron_expr, "0 0 * * *") == 0;
    }
    if (strcmp(field, "at") == 0) {
        job->at = SYMBI_TIME_NONE;
        return true;
    }
    if (strncmp(field, "heartbeat", n) == 0 && n == 9) {
        job->heartbeat.set = false;
        return true;
    }
    struct symbi_job d;
    symbi_job_init(&d);
    if (strcmp(field, "session_mode") == 0)
        job->session_mode = d.session_mode;
    else if (strcmp(field, "max_concurrent") == 0)
        job->max_concurrent = d.max_concurrent;
    else if (strcmp(field, "max_retries") == 0)
        job->max_retries = d.max_retries;
    else if (strcmp(field, "jitter") == 0)
        job->jitter_ms = d.jitter_ms;
    else if (strcmp(field, "starting_deadline") == 0)
        job->starting_deadline_ms = d.starting_deadline_ms;
    else if (strcmp(field, "catch_up") == 0)
        job->catch_up = d.catch_up;
    else if (strcmp(field, "dst_gap") == 0)
        job->dst_gap = d.dst_gap;
    else if (strcmp(field, "dst_overlap") == 0)
        job->dst_overlap = d.dst_overlap;
    else
        return false;
    return true;
}

int dsl_validate_each(struct symbi_job *job, dsl_validate_cb cb, void *ud)
{
    int n = 0;
    for (int round = 0; round < EACH_MAX; round++) {
        const char *field = NULL;
        struct symbi_err err;
        symbi_err_clear(&err);
        if (symbi_job_validate_field(job, &field, &err) == 0)
            break;
        n++;
        cb(ud, field, &err);
        if (field == NULL || !neutralise(job, field))
            break;
    }
    return n;
}
