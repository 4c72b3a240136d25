/* test_deliver_net.c - unit tests of the network channels against real
 * receivers on 127.0.0.1: webhook (headers, ${VAR} at send time, retries,
 * timeout, refused connection, bad values), Slack (incoming webhook and Web
 * API) and email over SMTP (aiosmtpd: accept, AUTH, reject, drop). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "support/http_recv.h"
#include "support/store_fixture.h"
#include "symbi/deliver.h"

#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct fx {
    char dir[64];
    struct symbi_config cfg;
    struct symbi_deliver *d;
    struct symbi_job job;
    struct symbi_run run;
    struct http_recv *http;
    pid_t smtp_pid;
    int smtp_port;
    char mbox[128];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/symbi-dlvn-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->mbox, sizeof f->mbox, "%s/mbox.jsonl", f->dir);
    symbi_config_init(&f->cfg);
    f->cfg.data_dir = symbi_strdup(f->dir);
    f->cfg.webhook_timeout_ms = 3000;
    f->cfg.webhook_retry_attempts = 3;
    f->cfg.webhook_retry_backoff_ms = 100;
    symbi_job_init(&f->job);
    f->job.name = symbi_strdup("nightly");
    f->job.agent = symbi_strdup("reporter");
    snprintf(f->job.id, sizeof f->job.id, "%s", "11111111-2222-4333-8444-555555555555");
    symbi_run_init(&f->run);
    assert_int_equal(symbi_uuid_v4(f->run.id), 0);
    snprintf(f->run.job_id, sizeof f->run.job_id, "%s", f->job.id);
    f->run.job_name = symbi_strdup("nightly");
    f->run.status = SYMBI_RUN_SUCCEEDED;
    f->run.attempt = 1;
    f->run.scheduled_at = 1774747800000;
    f->run.started_at = 1774747800010;
    f->run.finished_at = 1774747801010;
    f->run.execution_time_ms = 1000;
    f->run.output = symbi_strdup("all 3 checks passed <ok> & done\n");
    f->http = http_recv_start(true);
    assert_non_null(f->http);
    f->smtp_pid = -1;
    setenv("DLV_TEST_TOKEN", "s3cr3t-token-value", 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->smtp_pid > 0) {
        kill(f->smtp_pid, SIGTERM);
        waitpid(f->smtp_pid, NULL, 0);
    }
    http_recv_stop(f->http);
    symbi_deliver_free(f->d);
    symbi_config_cleanup(&f->cfg);
    symbi_job_cleanup(&f->job);
    symbi_run_cleanup(&f->run);
    fixture_rmtree(f->dir);
    free(f);
    unsetenv("DLV_TEST_TOKEN");
    return 0;
}

static void make_router(struct fx *f)
{
    struct symbi_err err;
    assert_int_equal(symbi_deliver_new(&f->cfg, &f->d, &err), 0);
}

static void set_url(struct fx *f, char **field, const char *path)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", http_recv_port(f->http), path);
    symbi_set_str(field, url);
}

/* Routes the run to channels; returns receipt 0 (the array is kept in
 * *all, to be freed by the caller). */
static json_t *route1(struct fx *f, const char *channels, json_t **all)
{
    symbi_set_str(&f->job.delivery, channels);
    struct symbi_delivery_summary sum;
    struct symbi_err err;
    assert_int_equal(symbi_deliver_route(f->d, &f->job, &f->run, "test", &sum, &err), 0);
    *all = json_loads(f->run.deliveries, 0, NULL);
    assert_true(json_is_array(*all));
    return json_array_get(*all, 0);
}

static int64_t mono(void)
{
    return symbi_now_mono_ms();
}

/* ---- webhook ---- */

static void test_webhook_post(void **state)
{
    struct fx *f = *state;
    setenv("DLV_TEST_AUTH", "Bearer from-env-xyz", 1);
    f->cfg.webhook_auth_header = symbi_strdup("${DLV_TEST_AUTH}");
    make_router(f);
    set_url(f, &f->job.webhook_url, "/hook");
    symbi_set_str(&f->job.webhook_headers,
                  "{\"X-Token\":\"${DLV_TEST_TOKEN}\",\"X-Team\":\"ops\"}");
    json_t *all;
    json_t *r = route1(f, "[\"webhook\"]", &all);
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 200);
    assert_int_equal(json_integer_value(json_object_get(r, "attempts")), 1);
    assert_int_equal(http_recv_count(f->http), 1);
    const struct http_recv_req *q = http_recv_get(f->http, 0);
    assert_string_equal(q->method, "POST");
    assert_string_equal(q->path, "/hook");
    char v[256];
    assert_true(http_recv_header(q, "X-Token", v, sizeof v));
    assert_string_equal(v, "s3cr3t-token-value");
    assert_true(http_recv_header(q, "X-Team", v, sizeof v));
    assert_string_equal(v, "ops");
    assert_true(http_recv_header(q, "Content-Type", v, sizeof v));
    assert_string_equal(v, "application/json");
    assert_true(http_recv_header(q, "Authorization", v, sizeof v));
    assert_string_equal(v, "Bearer from-env-xyz");
    char *want = symbi_deliver_payload(&f->job, &f->run, 0);
    assert_string_equal(q->body, want);
    free(want);
    /* the job keeps the unexpanded form; receipts hold no secret */
    assert_non_null(strstr(f->job.webhook_headers, "${DLV_TEST_TOKEN}"));
    assert_null(strstr(f->run.deliveries, "s3cr3t"));
    json_decref(all);

    /* a job's own Authorization wins over SYMBI_WEBHOOK_AUTH_HEADER */
    symbi_set_str(&f->job.webhook_headers, "{\"authorization\":\"Basic own\"}");
    r = route1(f, "[\"webhook\"]", &all);
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_true(http_recv_header(http_recv_get(f->http, 1), "Authorization", v, sizeof v));
    assert_string_equal(v, "Basic own");
    json_decref(all);
    unsetenv("DLV_TEST_AUTH");
}

/* 500, 500, then 200: retried with a growing backoff, and delivered. */
static void test_webhook_retry_then_ok(void **state)
{
    struct fx *f = *state;
    make_router(f);
    set_url(f, &f->job.webhook_url, "/flaky");
    const int script[] = {500, 500, 200};
    http_recv_script(f->http, script, 3, "{\"error\":\"busy\"}");
    json_t *all;
    json_t *r = route1(f, "[\"webhook\"]", &all);
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "attempts")), 3);
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 200);
    assert_int_equal(http_recv_count(f->http), 3);
    int64_t t0 = http_recv_get(f->http, 0)->at_mono_ms, t1 = http_recv_get(f->http, 1)->at_mono_ms,
            t2 = http_recv_get(f->http, 2)->at_mono_ms;
    assert_true(t1 - t0 >= 100); /* backoff 100 ms, then 200 ms */
    assert_true(t2 - t1 >= 200);
    json_decref(all);

    /* always 500: every attempt made, the last status and body kept */
    const int bad[] = {500, 502, 503, 500};
    http_recv_script(f->http, bad, 4, "{\"error\":\"still busy\"}");
    r = route1(f, "[\"webhook\"]", &all);
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "attempts")), 4);
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 500);
    assert_string_equal(json_string_value(json_object_get(r, "error")),
                        "HTTP 500 (after 4 attempts)");
    assert_string_equal(json_string_value(json_object_get(r, "reply")),
                        "{\"error\":\"still busy\"}");
    json_decref(all);

    /* a 4xx other than 408/429 is not retried */
    const int gone[] = {404};
    http_recv_script(f->http, gone, 1, NULL);
    size_t before = http_recv_count(f->http);
    r = route1(f, "[\"webhook\"]", &all);
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "attempts")), 1);
    assert_int_equal(http_recv_count(f->http), before + 1);
    json_decref(all);
}

/* A receiver that never answers: each attempt ends at the timeout. */
static void test_webhook_timeout(void **state)
{
    struct fx *f = *state;
    f->cfg.webhook_timeout_ms = 300;
    f->cfg.webhook_retry_attempts = 1;
    make_router(f);
    set_url(f, &f->job.webhook_url, "/hang");
    const int script[] = {HTTP_RECV_HANG, HTTP_RECV_HANG};
    http_recv_script(f->http, script, 2, NULL);
    int64_t t0 = mono();
    json_t *all;
    json_t *r = route1(f, "[\"webhook\"]", &all);
    int64_t took = mono() - t0;
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "attempts")), 2);
    assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "timed out"));
    assert_true(took >= 2 * 300 + 100);
    assert_true(took < 2 * 300 + 100 + 1500);
    assert_int_equal(http_recv_count(f->http), 2);
    json_decref(all);
}

/* Nothing listens: connection refused, fast, with every retry made. */
static void test_webhook_refused(void **state)
{
    struct fx *f = *state;
    f->cfg.webhook_timeout_ms = 10000;
    f->cfg.webhook_retry_backoff_ms = 10;
    make_router(f);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", http_recv_closed_port());
    symbi_set_str(&f->job.webhook_url, url);
    int64_t t0 = mono();
    json_t *all;
    json_t *r = route1(f, "[\"webhook\"]", &all);
    assert_true(mono() - t0 < 2000);
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "attempts")), 4);
    assert_true(json_is_null(json_object_get(r, "status")));
    assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "onnect"));
    json_decref(all);
}

/* The shutdown deadline cuts an attempt in flight off and stops retries. */
static void test_webhook_deadline(void **state)
{
    struct fx *f = *state;
    f->cfg.webhook_timeout_ms = 10000;
    make_router(f);
    set_url(f, &f->job.webhook_url, "/hang");
    const int script[] = {HTTP_RECV_HANG, HTTP_RECV_HANG};
    http_recv_script(f->http, script, 2, NULL);
    int64_t t0 = mono();
    symbi_deliver_set_deadline(f->d, t0 + 400);
    json_t *all;
    json_t *r = route1(f, "[\"webhook\"]", &all);
    int64_t took = mono() - t0;
    assert_true(took >= 350 && took < 2500);
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "attempts")), 1);
    assert_string_equal(json_string_value(json_object_get(r, "error")),
                        "cut off: the daemon is shutting down");
    json_decref(all);
    /* past the deadline nothing is tried */
    r = route1(f, "[\"webhook\"]", &all);
    assert_string_equal(json_string_value(json_object_get(r, "error")),
                        "not tried again: the daemon is shutting down");
    json_decref(all);
    assert_int_equal(http_recv_count(f->http), 1);
    /* cleared, it delivers again */
    symbi_deliver_set_deadline(f->d, 0);
    const int ok[] = {200};
    http_recv_script(f->http, ok, 1, NULL);
    r = route1(f, "[\"webhook\"]", &all);
    assert_true(json_is_true(json_object_get(r, "ok")));
    json_decref(all);
}

/* Values that only turn bad after ${VAR} expansion are refused at send
 * time with a clear receipt, and nothing is sent. */
static void test_webhook_bad_values(void **state)
{
    struct fx *f = *state;
    make_router(f);
    setenv("DLV_TEST_URL", "file:///etc/passwd", 1);
    setenv("DLV_TEST_CRLF", "x\r\nInjected: yes", 1);
    symbi_set_str(&f->job.webhook_url, "${DLV_TEST_URL}");
    json_t *all;
    json_t *r = route1(f, "[\"webhook\"]", &all);
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "http:// or https://"));
    json_decref(all);
    set_url(f, &f->job.webhook_url, "/hook");
    symbi_set_str(&f->job.webhook_headers, "{\"X-Evil\":\"${DLV_TEST_CRLF}\"}");
    r = route1(f, "[\"webhook\"]", &all);
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "line break"));
    json_decref(all);
    assert_int_equal(http_recv_count(f->http), 0);
    unsetenv("DLV_TEST_URL");
    unsetenv("DLV_TEST_CRLF");
}

/* ---- slack ---- */

static void test_slack_incoming_webhook(void **state)
{
    struct fx *f = *state;
    make_router(f);
    set_url(f, &f->job.slack_webhook_url, "/services/T0/B0/XXXX");
    symbi_set_str(&f->job.slack_channel, "#ops");
    json_t *all;
    json_t *r = route1(f, "[\"slack\"]", &all);
    assert_true(json_is_true(json_object_get(r, "ok")));
    const struct http_recv_req *q = http_recv_get(f->http, 0);
    assert_string_equal(q->path, "/services/T0/B0/XXXX");
    json_t *b = json_loads(q->body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(b, "channel")), "#ops");
    const char *text = json_string_value(json_object_get(b, "text"));
    assert_non_null(strstr(text, "[symbi] *nightly* succeeded"));
    assert_non_null(strstr(text, "```\nall 3 checks passed &lt;ok&gt; &amp; done"));
    json_decref(b);
    json_decref(all);
}

static void test_slack_web_api(void **state)
{
    struct fx *f = *state;
    char base[128];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/api/", http_recv_port(f->http));
    f->cfg.slack_api_base = symbi_strdup(base);
    f->cfg.slack_api_token = symbi_strdup("${DLV_TEST_TOKEN}");
    f->cfg.slack_default_channel = symbi_strdup("#general");
    make_router(f);
    const int ok[] = {200};
    http_recv_script(f->http, ok, 1, "{\"ok\":true,\"ts\":\"1.2\"}");
    json_t *all;
    json_t *r = route1(f, "[\"slack\"]", &all);
    assert_true(json_is_true(json_object_get(r, "ok")));
    const struct http_recv_req *q = http_recv_get(f->http, 0);
    assert_string_equal(q->path, "/api/chat.postMessage");
    char v[256];
    assert_true(http_recv_header(q, "Authorization", v, sizeof v));
    assert_string_equal(v, "Bearer s3cr3t-token-value");
    json_t *b = json_loads(q->body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(b, "channel")), "#general");
    json_decref(b);
    json_decref(all);

    /* the job's channel wins; an API refusal is a failed receipt */
    symbi_set_str(&f->job.slack_channel, "#nowhere");
    http_recv_script(f->http, ok, 1, "{\"ok\":false,\"error\":\"channel_not_found\"}");
    r = route1(f, "[\"slack\"]", &all);
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_string_equal(json_string_value(json_object_get(r, "error")),
                        "slack: chat.postMessage answered channel_not_found");
    b = json_loads(http_recv_get(f->http, 1)->body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(b, "channel")), "#nowhere");
    json_decref(b);
    assert_null(strstr(f->run.deliveries, "s3cr3t"));
    json_decref(all);
}

static void test_slack_unconfigured(void **state)
{
    struct fx *f = *state;
    make_router(f);
    json_t *all;
    json_t *r = route1(f, "[\"slack\"]", &all);
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "slack_api_token"));
    json_decref(all);
}

/* ---- email ---- */

/* Starts tests/unit/support/smtp_server.py in `mode`; waits for its port. */
static void start_smtp(struct fx *f, const char *mode, const char *user, const char *pass)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        const char *argv[12] = {"/usr/bin/python3",
                                "tests/unit/support/smtp_server.py",
                                "--mode",
                                mode,
                                "--out",
                                f->mbox};
        int n = 6;
        if (user != NULL) {
            argv[n++] = "--user";
            argv[n++] = user;
            argv[n++] = "--password";
            argv[n++] = pass;
        }
        argv[n] = NULL;
        execv(argv[0], (char **)argv);
        _exit(127);
    }
    close(p[1]);
    char line[64] = {0};
    size_t have = 0;
    while (have < sizeof line - 1 && strchr(line, '\n') == NULL) {
        struct pollfd pf = {p[0], POLLIN, 0};
        assert_true(poll(&pf, 1, 10000) == 1);
        ssize_t n = read(p[0], line + have, sizeof line - 1 - have);
        assert_true(n > 0);
        have += (size_t)n;
    }
    close(p[0]);
    assert_int_equal(sscanf(line, "PORT %d", &f->smtp_port), 1);
    f->smtp_pid = pid;
    f->cfg.smtp_host = symbi_strdup("127.0.0.1");
    f->cfg.smtp_port = f->smtp_port;
    f->cfg.email_from = symbi_strdup("Symbi Scheduler <symbi@example.com>");
}

static json_t *read_mail(struct fx *f, size_t i)
{
    FILE *fp = fopen(f->mbox, "r");
    assert_non_null(fp);
    static char line[1 << 16];
    json_t *m = NULL;
    for (size_t k = 0; fgets(line, sizeof line, fp) != NULL; k++)
        if (k == i)
            m = json_loads(line, 0, NULL);
    fclose(fp);
    assert_non_null(m);
    return m;
}

static void test_email_sent(void **state)
{
    struct fx *f = *state;
    setenv("DLV_TEST_SMTP_PASS", "pa55word!", 1);
    start_smtp(f, "accept", "mailer", "pa55word!");
    f->cfg.smtp_username = symbi_strdup("mailer");
    f->cfg.smtp_password = symbi_strdup("${DLV_TEST_SMTP_PASS}");
    make_router(f);
    symbi_set_str(&f->job.email_recipients, "[\"ops@example.com\",\"dev@example.org\"]");
    free(f->run.output);
    f->run.output = symbi_strdup("Résumé: 3 checks\n.\nline after a lone dot\n");
    json_t *all;
    json_t *r = route1(f, "[\"email\"]", &all);
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 250);
    assert_string_equal(json_string_value(json_object_get(r, "reply")),
                        "250 2.0.0 OK queued as test");
    json_decref(all);
    json_t *m = read_mail(f, 0);
    assert_string_equal(json_string_value(json_object_get(m, "mail_from")), "symbi@example.com");
    json_t *rc = json_object_get(m, "rcpt_tos");
    assert_int_equal(json_array_size(rc), 2);
    assert_string_equal(json_string_value(json_array_get(rc, 0)), "ops@example.com");
    assert_string_equal(json_string_value(json_array_get(rc, 1)), "dev@example.org");
    assert_true(json_is_true(json_object_get(m, "auth")));
    json_t *h = json_object_get(m, "headers");
    assert_string_equal(json_string_value(json_object_get(h, "Subject")),
                        "[symbi] nightly succeeded");
    assert_string_equal(json_string_value(json_object_get(h, "From")),
                        "Symbi Scheduler <symbi@example.com>");
    assert_string_equal(json_string_value(json_object_get(h, "To")),
                        "ops@example.com, dev@example.org");
    assert_non_null(strstr(json_string_value(json_object_get(h, "Content-Type")),
                           "text/plain; charset=\"UTF-8\""));
    assert_non_null(json_object_get(h, "Date"));
    assert_non_null(strstr(json_string_value(json_object_get(h, "Message-ID")), "@example.com>"));
    const char *body = json_string_value(json_object_get(m, "body"));
    assert_non_null(strstr(body, "Status: succeeded"));
    assert_non_null(strstr(body, "Résumé: 3 checks\n.\nline after a lone dot\n"));
    json_decref(m);
    unsetenv("DLV_TEST_SMTP_PASS");
}

static void test_email_rejected(void **state)
{
    struct fx *f = *state;
    start_smtp(f, "reject", NULL, NULL);
    make_router(f);
    symbi_set_str(&f->job.email_recipients, "[\"nobody@example.com\"]");
    json_t *all;
    json_t *r = route1(f, "[\"email\"]", &all);
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 550);
    assert_int_equal(json_integer_value(json_object_get(r, "attempts")), 1);
    assert_string_equal(json_string_value(json_object_get(r, "reply")),
                        "550 5.1.1 <nobody@example.com>: Recipient address rejected: no such user");
    assert_non_null(json_string_value(json_object_get(r, "error")));
    json_decref(all);
}

static void test_email_dropped(void **state)
{
    struct fx *f = *state;
    f->cfg.webhook_retry_attempts = 1;
    start_smtp(f, "drop", NULL, NULL);
    make_router(f);
    symbi_set_str(&f->job.email_recipients, "[\"ops@example.com\"]");
    json_t *all;
    json_t *r = route1(f, "[\"email\"]", &all);
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "attempts")), 2);
    assert_string_equal(json_string_value(json_object_get(r, "reply")), "220 drop.test ESMTP");
    assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "after 2 attempts"));
    json_decref(all);
}

/* STARTTLS required but not offered; a recipient that is not an address
 * after expansion; no SMTP host: refused with a receipt, nothing sent. */
static void test_email_refused_locally(void **state)
{
    struct fx *f = *state;
    start_smtp(f, "accept", NULL, NULL);
    f->cfg.smtp_require_tls = true;
    make_router(f);
    symbi_set_str(&f->job.email_recipients, "[\"ops@example.com\"]");
    json_t *all;
    json_t *r = route1(f, "[\"email\"]", &all);
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(r, "error")),
                           "offers no STARTTLS and smtp_require_tls is set"));
    json_decref(all);
    setenv("DLV_TEST_RCPT", "ops@example.com\r\nRCPT TO:<x@evil.test>", 1);
    symbi_set_str(&f->job.email_recipients, "[\"${DLV_TEST_RCPT}\"]");
    r = route1(f, "[\"email\"]", &all);
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "line breaks"));
    json_decref(all);
    assert_true(access(f->mbox, F_OK) != 0);
    unsetenv("DLV_TEST_RCPT");
    symbi_deliver_free(f->d);
    free(f->cfg.smtp_host);
    f->cfg.smtp_host = NULL;
    make_router(f);
    r = route1(f, "[\"email\"]", &all);
    assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "smtp_host"));
    json_decref(all);
}

int main(void)
{
    symbi_log_set_level(SYMBI_LOG_OFF);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_webhook_post, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_retry_then_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_bad_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slack_incoming_webhook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slack_web_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slack_unconfigured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_email_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_email_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_email_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_email_refused_locally, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
