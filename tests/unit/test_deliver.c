/* test_deliver.c - unit tests of the delivery router's local side: the §7
 * payload and its bounds, stdout, log_file (confinement, concurrency),
 * custom command channels, channels registered in C, receipts, metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "deliver/deliver_int.h"
#include "support/store_fixture.h"
#include "symbi/deliver.h"
#include "symbi/metrics.h"

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fx {
    char dir[64];
    char logdir[128];
    struct symbi_config cfg;
    struct symbi_deliver *d;
    struct symbi_job job;
    struct symbi_run run;
};

static void mkrun(struct symbi_run *run, const char *job_name, const char *output)
{
    symbi_run_init(run);
    assert_int_equal(symbi_uuid_v4(run->id), 0);
    snprintf(run->job_id, sizeof run->job_id, "%s", "11111111-2222-4333-8444-555555555555");
    run->job_name = symbi_strdup(job_name);
    run->agent = symbi_strdup("reporter");
    run->status = SYMBI_RUN_SUCCEEDED;
    run->attempt = 1;
    run->scheduled_at = 1774747800000;
    run->started_at = 1774747800010;
    run->finished_at = 1774747801010;
    run->execution_time_ms = 1000;
    run->output = symbi_strdup(output);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/symbi-dlv-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->logdir, sizeof f->logdir, "%s/logs/jobs", f->dir);
    symbi_config_init(&f->cfg);
    f->cfg.data_dir = symbi_strdup(f->dir);
    f->cfg.webhook_timeout_ms = 2000;
    symbi_job_init(&f->job);
    f->job.name = symbi_strdup("nightly");
    f->job.agent = symbi_strdup("reporter");
    snprintf(f->job.id, sizeof f->job.id, "%s", "11111111-2222-4333-8444-555555555555");
    mkrun(&f->run, "nightly", "report line 1\nreport line 2\n");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    symbi_deliver_free(f->d);
    symbi_config_cleanup(&f->cfg);
    symbi_job_cleanup(&f->job);
    symbi_run_cleanup(&f->run);
    fixture_rmtree(f->dir);
    free(f);
    symbi_deliver_clear_defaults();
    return 0;
}

static void make_router(struct fx *f)
{
    struct symbi_err err;
    assert_int_equal(symbi_deliver_new(&f->cfg, &f->d, &err), 0);
}

/* Routes f->run to `channels` (a JSON array); returns the receipts. */
static json_t *route(struct fx *f, const char *channels, struct symbi_delivery_summary *sum)
{
    symbi_set_str(&f->job.delivery, channels);
    struct symbi_err err;
    assert_int_equal(symbi_deliver_route(f->d, &f->job, &f->run, "test", sum, &err), 0);
    json_t *a = json_loads(f->run.deliveries, 0, NULL);
    assert_true(json_is_array(a));
    return a;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        symbi_buf_append(&b, chunk, n);
    fclose(fp);
    if (len != NULL)
        *len = b.len;
    return symbi_buf_steal(&b);
}

static void test_payload_fields(void **state)
{
    struct fx *f = *state;
    symbi_set_str(&f->run.error_message, NULL);
    char *p = symbi_deliver_payload(&f->job, &f->run, 0);
    json_t *o = json_loads(p, 0, NULL);
    assert_non_null(o);
    const char *keys[] = {"job_id",       "job_name",         "run_id",       "status",
                          "scheduled_at", "started_at",       "finished_at",  "execution_time_ms",
                          "output",       "output_truncated", "error_message"};
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(keys); i++)
        assert_non_null(json_object_get(o, keys[i]));
    assert_int_equal(json_object_size(o), SYMBI_ARRAY_LEN(keys));
    assert_string_equal(json_string_value(json_object_get(o, "job_name")), "nightly");
    assert_string_equal(json_string_value(json_object_get(o, "run_id")), f->run.id);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "succeeded");
    assert_string_equal(json_string_value(json_object_get(o, "scheduled_at")),
                        "2026-03-29T01:30:00Z");
    assert_int_equal(json_integer_value(json_object_get(o, "execution_time_ms")), 1000);
    assert_string_equal(json_string_value(json_object_get(o, "output")), f->run.output);
    assert_true(json_is_false(json_object_get(o, "output_truncated")));
    assert_true(json_is_null(json_object_get(o, "error_message")));
    json_decref(o);
    free(p);
}

/* A 10 MiB output (with bytes that are not UTF-8) is cut to the bound at
 * a character boundary, flagged, and the payload stays valid JSON. */
static void test_payload_bounded(void **state)
{
    struct fx *f = *state;
    size_t n = 10 * 1024 * 1024;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i += 2) {
        big[i] = (char)0xC3; /* "é" repeated: a cut must not split it */
        big[i + 1] = (char)0xA9;
    }
    big[n] = '\0';
    big[100] = (char)0xFF; /* not UTF-8 */
    big[101] = 'x';
    free(f->run.output);
    f->run.output = big;
    char *p = symbi_deliver_payload(&f->job, &f->run, 0);
    assert_non_null(p);
    assert_true(strlen(p) < SYMBI_DELIVER_OUTPUT_MAX + 4096);
    json_t *o = json_loads(p, 0, NULL);
    assert_non_null(o);
    assert_true(json_is_true(json_object_get(o, "output_truncated")));
    size_t ol = json_string_length(json_object_get(o, "output"));
    assert_true(ol <= SYMBI_DELIVER_OUTPUT_MAX + 2 && ol > SYMBI_DELIVER_OUTPUT_MAX - 4);
    assert_non_null(strstr(json_string_value(json_object_get(o, "output")), "\xEF\xBF\xBDx"));
    json_decref(o);
    free(p);

    /* a log record gets the bounded output too */
    make_router(f);
    struct symbi_delivery_summary sum;
    json_t *a = route(f, "[\"log_file\"]", &sum);
    assert_true(json_is_true(json_object_get(json_array_get(a, 0), "ok")));
    json_decref(a);
    char path[256];
    snprintf(path, sizeof path, "%s/nightly.log", f->logdir);
    size_t len;
    char *log = slurp(path, &len);
    assert_true(len < SYMBI_DELIVER_OUTPUT_MAX + 512 && len > SYMBI_DELIVER_OUTPUT_MAX - 8);
    free(log);
}

static void test_stdout_block(void **state)
{
    struct fx *f = *state;
    make_router(f);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    symbi_deliver_set_stdout_fd(f->d, fds[1]);
    struct symbi_delivery_summary sum;
    json_t *a = route(f, "[\"stdout\"]", &sum);
    close(fds[1]);
    char buf[4096];
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    assert_true(n > 0);
    buf[n] = '\0';
    char head[256];
    snprintf(head, sizeof head,
             "==> [symbi] nightly run %s at 2026-03-29T01:30:01.010Z status=", f->run.id);
    assert_memory_equal(buf, head, strlen(head));
    assert_non_null(strstr(buf, "status=succeeded attempt=1 trigger=schedule duration_ms=1000"));
    assert_non_null(strstr(buf, " <==\nreport line 1\nreport line 2\n"));
    assert_int_equal(sum.attempted, 1);
    assert_int_equal(sum.succeeded, 1);
    json_t *r = json_array_get(a, 0);
    assert_string_equal(json_string_value(json_object_get(r, "channel")), "stdout");
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_true(json_is_null(json_object_get(r, "error")));
    assert_int_equal(json_integer_value(json_object_get(r, "attempts")), 1);
    assert_true(json_is_string(json_object_get(r, "at")));
    json_decref(a);
}

static void test_log_file_records(void **state)
{
    struct fx *f = *state;
    make_router(f);
    struct symbi_delivery_summary sum;
    json_decref(route(f, "[\"log_file\"]", &sum));
    free(f->run.output);
    f->run.output = symbi_strdup("second run, no newline");
    f->run.status = SYMBI_RUN_FAILED;
    json_decref(route(f, "[\"log_file\"]", &sum));
    assert_int_equal(sum.succeeded, 1);
    char path[256];
    snprintf(path, sizeof path, "%s/nightly.log", f->logdir);
    char *log = slurp(path, NULL);
    assert_non_null(log);
    char want[512];
    snprintf(want, sizeof want,
             "--- 2026-03-29T01:30:01.010Z job=nightly run=%s status=succeeded attempt=1 "
             "trigger=schedule duration_ms=1000 output_bytes=28\nreport line 1\nreport line 2\n"
             "--- 2026-03-29T01:30:01.010Z job=nightly run=%s status=failed attempt=1 "
             "trigger=schedule duration_ms=1000 output_bytes=22\nsecond run, no newline\n",
             f->run.id, f->run.id);
    assert_string_equal(log, want);
    free(log);

    /* a job's own log_file, in a sub-directory created on demand */
    symbi_set_str(&f->job.log_file, "team/a/report.log");
    json_t *a = route(f, "[\"log_file\"]", &sum);
    assert_true(json_is_true(json_object_get(json_array_get(a, 0), "ok")));
    json_decref(a);
    snprintf(path, sizeof path, "%s/team/a/report.log", f->logdir);
    log = slurp(path, NULL);
    assert_non_null(log);
    assert_non_null(strstr(log, "second run, no newline\n"));
    free(log);
}

/* Neither `..` nor a symbolic link (to a file or a directory) nor a hard
 * link leads a record outside the log directory. */
static void test_log_file_confined(void **state)
{
    struct fx *f = *state;
    f->cfg.delivery_log_dir = symbi_strdup(f->logdir);
    make_router(f);
    char outside[256], lnk[256], sub[256];
    snprintf(outside, sizeof outside, "%s/outside.txt", f->dir);
    FILE *fp = fopen(outside, "w");
    fputs("untouched\n", fp);
    fclose(fp);
    char logs[160];
    snprintf(logs, sizeof logs, "%s/logs", f->dir);
    mkdir(logs, 0750);
    mkdir(f->logdir, 0750);
    snprintf(lnk, sizeof lnk, "%s/nightly.log", f->logdir);
    assert_int_equal(symlink(outside, lnk), 0);
    snprintf(sub, sizeof sub, "%s/dir", f->logdir);
    assert_int_equal(symlink(f->dir, sub), 0);
    struct symbi_delivery_summary sum;
    const struct {
        const char *log_file;
        const char *why;
    } cases[] = {
        {NULL, "symbolic link"},
        {"dir/outside.txt", "symbolic link"},
        {"../outside.txt", "without `.`, `..`"},
        {"a/../../outside.txt", "without `.`, `..`"},
        {"/etc/passwd", "without `.`, `..`"},
        {"hard.log", "single link"},
    };
    char hard[256];
    snprintf(hard, sizeof hard, "%s/hard.log", f->logdir);
    assert_int_equal(link(outside, hard), 0);
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(cases); i++) {
        symbi_set_str(&f->job.log_file, cases[i].log_file);
        json_t *a = route(f, "[\"log_file\"]", &sum);
        json_t *r = json_array_get(a, 0);
        assert_true(json_is_false(json_object_get(r, "ok")));
        const char *e = json_string_value(json_object_get(r, "error"));
        assert_non_null(e);
        assert_non_null(strstr(e, cases[i].why));
        json_decref(a);
    }
    char *content = slurp(outside, NULL);
    assert_string_equal(content, "untouched\n");
    free(content);
}

struct writer_arg {
    struct fx *f;
    int id;
};

#define WRITERS     6
#define RUNS_EACH   40
#define RECORD_SIZE 20000

static void *writer(void *p)
{
    struct writer_arg *w = p;
    struct symbi_job job;
    symbi_job_init(&job);
    job.name = symbi_strdup("nightly");
    job.delivery = symbi_strdup("[\"log_file\"]");
    char *out = malloc(RECORD_SIZE + 1);
    memset(out, 'a' + w->id, RECORD_SIZE);
    out[RECORD_SIZE - 1] = '\n';
    out[RECORD_SIZE] = '\0';
    for (int i = 0; i < RUNS_EACH; i++) {
        struct symbi_run run;
        mkrun(&run, "nightly", out);
        struct symbi_delivery_summary sum;
        if (symbi_deliver_route(w->f->d, &job, &run, "test", &sum, NULL) != 0 || sum.succeeded != 1)
            abort();
        symbi_run_cleanup(&run);
    }
    free(out);
    symbi_job_cleanup(&job);
    return NULL;
}

/* Concurrent runs append whole records: every record's output is one
 * writer's bytes, and every record is there. */
static void test_log_file_concurrent(void **state)
{
    struct fx *f = *state;
    make_router(f);
    pthread_t th[WRITERS];
    struct writer_arg args[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        args[i] = (struct writer_arg){f, i};
        assert_int_equal(pthread_create(&th[i], NULL, writer, &args[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(th[i], NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/nightly.log", f->logdir);
    size_t len;
    char *log = slurp(path, &len);
    int records = 0;
    char *p = log;
    while (p < log + len) {
        assert_memory_equal(p, "--- ", 4);
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_non_null(strstr(p, "output_bytes=20000"));
        char c = nl[1];
        for (int k = 0; k < RECORD_SIZE - 1; k++)
            assert_int_equal(nl[1 + k], c);
        assert_int_equal(nl[RECORD_SIZE], '\n');
        p = nl + 1 + RECORD_SIZE;
        records++;
    }
    assert_int_equal(records, WRITERS * RUNS_EACH);
    free(log);
}

static void test_custom_command(void **state)
{
    struct fx *f = *state;
    char out[256], cmd[1024];
    snprintf(out, sizeof out, "%s/payload.json", f->dir);
    snprintf(cmd, sizeof cmd, "cat > '%s'; echo \"$SYMBI_JOB_NAME\" >> '%s.env'", out, out);
    f->cfg.custom_channels = calloc(2, sizeof *f->cfg.custom_channels);
    f->cfg.custom_channels[0].name = symbi_strdup("archive");
    f->cfg.custom_channels[0].command = symbi_strdup(cmd);
    f->cfg.custom_channels[1].name = symbi_strdup("broken");
    f->cfg.custom_channels[1].command = symbi_strdup("echo 'disk full' >&2; exit 3");
    f->cfg.n_custom_channels = 2;
    make_router(f);
    struct symbi_delivery_summary sum;
    json_t *a = route(f, "[\"archive\",\"broken\"]", &sum);
    assert_int_equal(sum.attempted, 2);
    assert_int_equal(sum.succeeded, 1);
    json_t *r0 = json_array_get(a, 0), *r1 = json_array_get(a, 1);
    assert_true(json_is_true(json_object_get(r0, "ok")));
    assert_true(json_is_integer(json_object_get(r0, "status")));
    assert_int_equal(json_integer_value(json_object_get(r0, "status")), 0);
    assert_true(json_is_false(json_object_get(r1, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r1, "status")), 3);
    assert_non_null(strstr(json_string_value(json_object_get(r1, "error")), "disk full"));
    json_decref(a);
    char *got = slurp(out, NULL);
    char *want = symbi_deliver_payload(&f->job, &f->run, 0);
    assert_string_equal(got, want);
    free(got);
    free(want);
    char envf[300];
    snprintf(envf, sizeof envf, "%s.env", out);
    got = slurp(envf, NULL);
    assert_string_equal(got, "nightly\n");
    free(got);
}

struct memo {
    int calls;
    int released;
    char channel[32];
    char output[128];
    char run_id[SYMBI_UUID_LEN + 1];
    bool saw_payload;
};

static int memo_route(struct symbi_delivery_ctx *ctx, const char *channel,
                      const struct symbi_job *job, const struct symbi_run *run, const char *output)
{
    struct memo *m = ctx->ud;
    m->calls++;
    snprintf(m->channel, sizeof m->channel, "%s", channel);
    snprintf(m->output, sizeof m->output, "%s", output);
    snprintf(m->run_id, sizeof m->run_id, "%s", run->id);
    m->saw_payload = ctx->payload != NULL && strstr(ctx->payload, "\"job_name\":\"nightly\"") &&
                     job != NULL && strcmp(job->name, "nightly") == 0;
    if (strcmp(channel, "pager") == 0) {
        ctx->receipt->status = 503;
        snprintf(ctx->receipt->error, sizeof ctx->receipt->error, "pager is down");
        ctx->receipt->attempts = 2;
        return SYMBI_EIO;
    }
    return 0;
}

static void memo_release(void *ud)
{
    ((struct memo *)ud)->released++;
}

static void test_registered_channel(void **state)
{
    struct fx *f = *state;
    struct memo m = {0}, pm = {0};
    static struct memo dm; /* outlives the test: teardown clears the defaults */
    memset(&dm, 0, sizeof dm);
    const struct symbi_delivery_router impl = {memo_route, memo_release};
    struct symbi_err err;
    assert_int_equal(symbi_deliver_register_default("audit-trail", &impl, &dm, &err), 0);
    assert_int_equal(symbi_deliver_register_default("audit-trail", &impl, &dm, &err), SYMBI_EEXIST);
    make_router(f);
    assert_int_equal(symbi_deliver_register(f->d, "memo", &impl, &m, &err), 0);
    assert_int_equal(symbi_deliver_register(f->d, "pager", &impl, &pm, &err), 0);
    assert_int_equal(symbi_deliver_register(f->d, "memo", &impl, &m, &err), SYMBI_EEXIST);
    assert_int_equal(symbi_deliver_register(f->d, "webhook", &impl, &m, &err), SYMBI_EEXIST);
    assert_int_equal(symbi_deliver_register(f->d, "bad name", &impl, &m, &err), SYMBI_EINVAL);
    const struct symbi_delivery_router none = {NULL, NULL};
    assert_int_equal(symbi_deliver_register(f->d, "x", &none, &m, &err), SYMBI_EINVAL);

    struct symbi_delivery_summary sum;
    json_t *a = route(f, "[\"memo\",\"pager\",\"audit-trail\",\"nowhere\"]", &sum);
    assert_int_equal(sum.attempted, 4);
    assert_int_equal(sum.succeeded, 2);
    assert_int_equal(m.calls, 1);
    assert_string_equal(m.channel, "memo");
    assert_string_equal(m.output, f->run.output);
    assert_string_equal(m.run_id, f->run.id);
    assert_true(m.saw_payload);
    assert_int_equal(dm.calls, 1);
    json_t *rp = json_array_get(a, 1);
    assert_true(json_is_false(json_object_get(rp, "ok")));
    assert_int_equal(json_integer_value(json_object_get(rp, "status")), 503);
    assert_int_equal(json_integer_value(json_object_get(rp, "attempts")), 2);
    assert_string_equal(json_string_value(json_object_get(rp, "error")), "pager is down");
    json_t *rn = json_array_get(a, 3);
    assert_true(json_is_false(json_object_get(rn, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(rn, "error")), "unknown channel"));
    json_decref(a);
    symbi_deliver_free(f->d);
    f->d = NULL;
    assert_int_equal(m.released, 1);
    assert_int_equal(pm.released, 1);
    assert_int_equal(dm.released, 0); /* borrowed by the router */
    symbi_deliver_clear_defaults();
    assert_int_equal(dm.released, 1);
}

/* The hook of the run pipeline fills run->deliveries and the summary;
 * no job (or no channel) records `[]`. Metrics count each channel. */
static void test_hook_and_metrics(void **state)
{
    struct fx *f = *state;
    symbi_metrics_reset();
    make_router(f);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    symbi_deliver_set_stdout_fd(f->d, fds[1]);
    symbi_set_str(&f->job.delivery, "[\"stdout\",\"nowhere\"]");
    struct symbi_policy pol;
    symbi_policy_init(&pol);
    struct symbi_exec_ctx c = {&f->job, NULL, &pol, &f->run, "test", 0};
    struct symbi_delivery_summary sum = {-1, -1};
    struct symbi_err err;
    assert_int_equal(symbi_deliver_hook(f->d, &c, &sum, &err), 0);
    assert_int_equal(sum.attempted, 2);
    assert_int_equal(sum.succeeded, 1);
    assert_non_null(strstr(f->run.deliveries, "\"channel\":\"stdout\",\"ok\":true"));
    c.job = NULL;
    assert_int_equal(symbi_deliver_hook(f->d, &c, &sum, &err), 0);
    assert_string_equal(f->run.deliveries, "[]");
    assert_int_equal(sum.attempted, 0);
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    symbi_metrics_render(&b);
    assert_non_null(strstr(symbi_buf_str(&b),
                           "symbiont_cron_deliveries_total{channel=\"stdout\",result="
                           "\"success\"} 1"));
    assert_non_null(strstr(symbi_buf_str(&b),
                           "symbiont_cron_deliveries_total{channel=\"nowhere\",result="
                           "\"failure\"} 1"));
    symbi_buf_cleanup(&b);
    close(fds[0]);
    close(fds[1]);
}

/* ${VAR} expanded at send time with the values remembered; error texts
 * scrubbed of them; the checks of expanded values; UTF-8-safe cuts. */
static void test_secret_helpers(void **state)
{
    (void)state;
    setenv("DLV_UT_SECRET", "hunter2-xyz", 1);
    unsetenv("DLV_UT_UNSET");
    struct dlv_secrets sec;
    symbi_dlv_secrets_init(&sec);
    char *v = symbi_dlv_expand(&sec, "Bearer ${DLV_UT_SECRET} ${DLV_UT_UNSET:-dflt}", false);
    assert_string_equal(v, "Bearer hunter2-xyz dflt");
    free(v);
    v = symbi_dlv_expand(&sec, "literal-token-abc", true);
    assert_string_equal(v, "literal-token-abc");
    free(v);
    char text[128];
    snprintf(text, sizeof text, "x hunter2-xyz y literal-token-abc z hunter2-xyz");
    symbi_dlv_redact(&sec, text, sizeof text);
    assert_string_equal(text, "x *** y *** z ***");
    symbi_dlv_secrets_cleanup(&sec);
    assert_null(symbi_dlv_expand(&sec, NULL, false));
    assert_true(symbi_dlv_has_ctl("a\r\nb"));
    assert_false(symbi_dlv_has_ctl("tab\tok"));
    assert_true(symbi_dlv_http_url("https://h.example/p?q"));
    assert_true(symbi_dlv_http_url("http://127.0.0.1:80"));
    assert_false(symbi_dlv_http_url("file:///etc/passwd"));
    assert_false(symbi_dlv_http_url("http:///nohost"));
    assert_false(symbi_dlv_http_url("http://a b"));
    const char *e = "a\xC3\xA9"
                    "b"; /* a é b */
    assert_int_equal(symbi_dlv_cut(e, 4, 2), 1);
    assert_int_equal(symbi_dlv_cut(e, 4, 3), 3);
    assert_int_equal(symbi_dlv_cut(e, 4, 9), 4);
    unsetenv("DLV_UT_SECRET");
}

int main(void)
{
    symbi_log_set_level(SYMBI_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_payload_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payload_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdout_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_file_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_file_confined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_file_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_custom_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registered_channel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook_and_metrics, setup, teardown),
        cmocka_unit_test(test_secret_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
