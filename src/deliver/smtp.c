/* smtp.c - the email channel: one text/plain UTF-8 message per run over
 * SMTP with libcurl (STARTTLS when offered, required with smtp_require_tls;
 * AUTH when credentials are set); the receipt keeps the server's reply. */
#include "deliver/deliver_int.h"

#include "symbi/json.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RECIPIENTS 256
#define ADDR_MAX       320

struct mail {
    struct symbi_buf msg;
    size_t pos;
    char reply[512]; /* the server's last reply line (QUIT's excepted) */
};

static size_t read_msg(char *p, size_t sz, size_t n, void *ud)
{
    struct mail *m = ud;
    size_t room = sz * n;
    size_t left = m->msg.len - m->pos;
    size_t take = left < room ? left : room;
    memcpy(p, m->msg.data + m->pos, take);
    m->pos += take;
    return take;
}

/* Keeps the last line the server sent (SMTP replies come as HEADER_IN). */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
    (void)h;
    struct mail *m = ud;
    if (type != CURLINFO_HEADER_IN)
        return 0;
    size_t i = 0;
    while (i < size) {
        size_t j = i;
        while (j < size && data[j] != '\r' && data[j] != '\n')
            j++;
        if (j > i && !(j - i >= 3 && memcmp(data + i, "221", 3) == 0)) {
            size_t n = symbi_dlv_cut(data + i, j - i, sizeof m->reply - 1);
            for (size_t k = 0; k < n; k++) {
                unsigned char c = (unsigned char)data[i + k];
                m->reply[k] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
            }
            m->reply[n] = '\0';
        }
        while (j < size && (data[j] == '\r' || data[j] == '\n'))
            j++;
        i = j;
    }
    return 0;
}

/* The bare address of "addr" or "Name <addr>"; false when not one. */
static bool bare_address(const char *s, char out[ADDR_MAX + 1])
{
    const char *lt = strrchr(s, '<');
    const char *a = s;
    size_t n = strlen(s);
    if (lt != NULL) {
        const char *gt = strchr(lt, '>');
        if (gt == NULL || gt[1] != '\0')
            return false;
        a = lt + 1;
        n = (size_t)(gt - a);
    }
    if (n == 0 || n > ADDR_MAX)
        return false;
    memcpy(out, a, n);
    out[n] = '\0';
    const char *at = strchr(out, '@');
    if (at == NULL || at == out || at[1] == '\0' || strchr(at + 1, '@') != NULL)
        return false;
    for (const char *q = out; *q != '\0'; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f || strchr("<>,;\"()[]\\", *q) != NULL)
            return false;
    return true;
}

static int put_date(struct symbi_buf *b, int64_t ms)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    return symbi_buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
                            tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                            tm.tm_sec);
}

static int put_base64(struct symbi_buf *b, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int rc = 0;
    size_t col = 0;
    for (size_t i = 0; i < n && rc == 0; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63], i + 1 < n ? tab[(v >> 6) & 63] : '=',
                     i + 2 < n ? tab[v & 63] : '='};
        rc = symbi_buf_append(b, q, 4);
        col += 4;
        if (rc == 0 && col >= 76) {
            rc = symbi_buf_puts(b, "\r\n");
            col = 0;
        }
    }
    if (rc == 0 && col > 0)
        rc = symbi_buf_puts(b, "\r\n");
    return rc;
}

/* The body text: the run's facts, then the output (UTF-8, CRLF lines). */
static int put_body(struct symbi_buf *b, const struct symbi_run *run, const char *output)
{
    struct symbi_buf t;
    symbi_buf_init(&t, 0);
    char s1[SYMBI_TIME_STRLEN], s2[SYMBI_TIME_STRLEN], s3[SYMBI_TIME_STRLEN];
    int rc = symbi_buf_printf(
        &t,
        "Job: %s\nRun: %s\nStatus: %s\nTrigger: %s (attempt %d)\nScheduled: %s\n"
        "Started: %s\nFinished: %s\nDuration: %lld ms\n",
        run->job_name ? run->job_name : "-", run->id, symbi_run_status_name(run->status),
        symbi_trigger_name(run->trigger), run->attempt, symbi_time_fmt(run->scheduled_at, s1),
        symbi_time_fmt(run->started_at, s2), symbi_time_fmt(run->finished_at, s3),
        (long long)(run->execution_time_ms < 0 ? 0 : run->execution_time_ms));
    if (rc == 0 && run->error_message != NULL)
        rc = symbi_buf_printf(&t, "Error: %s\n", run->error_message);
    if (rc == 0)
        rc = symbi_buf_printf(&t, "\n%s%s", output,
                              run->output_truncated ||
                                      strlen(output) < strlen(run->output ? run->output : "")
                                  ? "\n(output truncated)\n"
                                  : "");
    /* valid UTF-8 (U+FFFD for anything else), then CRLF line ends */
    json_t *js = rc == 0 ? symbi_json_text(symbi_buf_str(&t), t.len) : NULL;
    symbi_buf_cleanup(&t);
    if (js == NULL)
        return SYMBI_ENOMEM;
    const char *s = json_string_value(js);
    size_t n = json_string_length(js);
    symbi_buf_init(&t, 0);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            rc = symbi_buf_putc(&t, '\r');
        if (rc == 0)
            rc = symbi_buf_putc(&t, s[i]);
    }
    json_decref(js);
    if (rc == 0)
        rc = put_base64(b, (const unsigned char *)symbi_buf_str(&t), t.len);
    symbi_buf_cleanup(&t);
    return rc;
}

static int build_message(struct symbi_buf *b, const char *from, const char *from_addr,
                         json_t *rcpts, const struct symbi_job *job, const struct symbi_run *run,
                         const char *output)
{
    char mid[SYMBI_UUID_LEN + 1];
    if (symbi_uuid_v4(mid) != 0)
        return SYMBI_EIO;
    const char *domain = strchr(from_addr, '@') + 1;
    const char *name = run->job_name ? run->job_name : job && job->name ? job->name : "-";
    int rc = put_date(b, symbi_now_wall_ms());
    if (rc == 0)
        rc = symbi_buf_printf(b, "Message-ID: <%s@%s>\r\nFrom: %s\r\nTo: ", mid, domain, from);
    size_t i;
    json_t *v;
    json_array_foreach(rcpts, i, v)
    {
        if (rc == 0)
            rc = symbi_buf_printf(b, "%s%s", i > 0 ? ",\r\n " : "", json_string_value(v));
    }
    if (rc == 0)
        rc = symbi_buf_printf(b,
                              "\r\nSubject: [symbi] %s %s\r\nMIME-Version: 1.0\r\n"
                              "Content-Type: text/plain; charset=UTF-8\r\n"
                              "Content-Transfer-Encoding: base64\r\nX-Symbi-Run: %s\r\n\r\n",
                              name, symbi_run_status_name(run->status), run->id);
    if (rc == 0)
        rc = put_body(b, run, output);
    return rc;
}

/* One SMTP transaction; returns 0 when the server took the message. */
static int send_once(const struct symbi_deliver *d, const char *url, const char *user,
                     const char *pass, const char *from_addr, struct curl_slist *rl, struct mail *m,
                     struct symbi_delivery_receipt *r, bool *again)
{
    CURL *h = symbi_dlv_curl();
    *again = false;
    if (h == NULL)
        return symbi_dlv_fail(r, "out of memory");
    char ebuf[CURL_ERROR_SIZE];
    ebuf[0] = '\0';
    char mfrom[ADDR_MAX + 3];
    snprintf(mfrom, sizeof mfrom, "<%s>", from_addr);
    m->pos = 0;
    m->reply[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    int64_t limit = symbi_dlv_attempt_ms(d);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(limit > 0 ? limit : 1));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(limit > 0 ? limit : 1));
    symbi_dlv_curl_watch(h, d);
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     (long)(d->smtp_require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, mfrom);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rl);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_msg);
    curl_easy_setopt(h, CURLOPT_READDATA, m);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m->msg.len);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L); /* QUIT within this call */
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, m);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    if (user != NULL && *user != '\0') {
        curl_easy_setopt(h, CURLOPT_USERNAME, user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, pass != NULL ? pass : "");
    }
    CURLcode c = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    /* nothing of this call may be used by the next one */
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, NULL);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, NULL);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 0L);
    r->status = (int)code;
    snprintf(r->reply, sizeof r->reply, "%s", m->reply);
    if (c == CURLE_OK)
        return 0;
    if (c == CURLE_ABORTED_BY_CALLBACK ||
        (c == CURLE_OPERATION_TIMEDOUT && symbi_dlv_attempt_ms(d) <= 0))
        return symbi_dlv_fail(r, DLV_CUT_OFF);
    if (c == CURLE_USE_SSL_FAILED)
        return symbi_dlv_fail(r,
                              "email: the server offers no STARTTLS and smtp_require_tls is "
                              "set (%s)",
                              ebuf[0] ? ebuf : curl_easy_strerror(c));
    if (code >= 400 && code < 500)
        *again = true; /* a transient SMTP failure */
    else if (code < 400)
        *again = c == CURLE_COULDNT_CONNECT || c == CURLE_OPERATION_TIMEDOUT ||
                 c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR || c == CURLE_GOT_NOTHING ||
                 c == CURLE_COULDNT_RESOLVE_HOST;
    return symbi_dlv_fail(r, "%s", ebuf[0] ? ebuf : curl_easy_strerror(c));
}

static int route_email(struct symbi_delivery_ctx *ctx, const char *channel,
                       const struct symbi_job *job, const struct symbi_run *run, const char *output)
{
    (void)channel;
    const struct symbi_deliver *d = ctx->router;
    struct symbi_delivery_receipt *r = ctx->receipt;
    if (job == NULL || job->email_recipients == NULL)
        return symbi_dlv_fail(r, "email: the job has no email_recipients");
    if (d->smtp_host == NULL)
        return symbi_dlv_fail(r, "email: needs [scheduler.delivery] smtp_host");
    if (d->email_from == NULL)
        return symbi_dlv_fail(r, "email: needs [scheduler.delivery] email_from");
    struct dlv_secrets sec;
    symbi_dlv_secrets_init(&sec);
    char *host = symbi_dlv_expand(&sec, d->smtp_host, false);
    char *from = symbi_dlv_expand(&sec, d->email_from, false);
    char *user = symbi_dlv_expand(&sec, d->smtp_username, false);
    char *pass = symbi_dlv_expand(&sec, d->smtp_password, true);
    json_t *list = symbi_json_parse_field(job->email_recipients);
    json_t *rcpts = json_array();
    struct curl_slist *rl = NULL;
    struct mail m;
    memset(&m, 0, sizeof m);
    symbi_buf_init(&m.msg, 2 * SYMBI_DELIVER_OUTPUT_MAX + 64 * 1024);
    char from_addr[ADDR_MAX + 1], url[600];
    int rc = 0;
    if (host == NULL || from == NULL || rcpts == NULL ||
        (d->smtp_username != NULL && user == NULL) || (d->smtp_password != NULL && pass == NULL))
        rc = symbi_dlv_fail(r, "out of memory");
    else if (*host == '\0' || symbi_dlv_has_ctl(host) || strpbrk(host, "/@ ") != NULL ||
             strlen(host) > 255)
        rc = symbi_dlv_fail(r, "email: smtp_host is not a host name (after ${VAR} expansion)");
    else if (symbi_dlv_has_ctl(from) || !bare_address(from, from_addr))
        rc = symbi_dlv_fail(r, "email: email_from is not an e-mail address");
    else if (!json_is_array(list) || json_array_size(list) == 0 ||
             json_array_size(list) > MAX_RECIPIENTS)
        rc = symbi_dlv_fail(r, "email: email_recipients must list 1..%d addresses", MAX_RECIPIENTS);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (rc != 0)
            break;
        char *a = json_is_string(v) ? symbi_dlv_expand(&sec, json_string_value(v), false) : NULL;
        char bare[ADDR_MAX + 1], angle[ADDR_MAX + 3];
        if (a == NULL || symbi_dlv_has_ctl(a) || !bare_address(a, bare) || strchr(a, '<')) {
            rc = symbi_dlv_fail(r,
                                "email: recipient %zu is not an e-mail address (line breaks and "
                                "control characters are refused), nothing sent",
                                i + 1);
        } else {
            snprintf(angle, sizeof angle, "<%s>", bare);
            struct curl_slist *t = curl_slist_append(rl, angle);
            if (t == NULL || json_array_append_new(rcpts, json_string(bare)) != 0)
                rc = symbi_dlv_fail(r, "out of memory");
            if (t != NULL)
                rl = t;
        }
        free(a);
    }
    if (rc == 0 && build_message(&m.msg, from, from_addr, rcpts, job, run, output) != 0)
        rc = symbi_dlv_fail(r, "email: cannot build the message (out of memory or too large)");
    if (rc == 0) {
        bool v6 = strchr(host, ':') != NULL && host[0] != '[';
        snprintf(url, sizeof url, "%s://%s%s%s:%d", d->smtp_port == 465 ? "smtps" : "smtp",
                 v6 ? "[" : "", host, v6 ? "]" : "", d->smtp_port);
        int tries = 1 + d->retry_attempts;
        for (int k = 0; k < tries; k++) {
            if (symbi_dlv_attempt_ms(d) <= 0 || (k > 0 && !symbi_dlv_backoff_sleep(d, k - 1))) {
                if (k == 0) {
                    rc = symbi_dlv_fail(r, DLV_STOPPED);
                } else {
                    size_t n = strlen(r->error);
                    snprintf(r->error + n, sizeof r->error - n, "; " DLV_STOPPED);
                }
                break;
            }
            bool again;
            rc = send_once(d, url, user, pass, from_addr, rl, &m, r, &again);
            r->attempts = k + 1;
            if (rc == 0 || !again)
                break;
        }
        if (rc == 0)
            r->error[0] = '\0';
        else if (r->attempts > 1) {
            size_t n = strlen(r->error);
            snprintf(r->error + n, sizeof r->error - n, " (after %d attempts)", r->attempts);
        }
    }
    symbi_dlv_redact(&sec, r->error, sizeof r->error);
    symbi_dlv_redact(&sec, r->reply, sizeof r->reply);
    curl_slist_free_all(rl);
    symbi_buf_cleanup(&m.msg);
    json_decref(list);
    json_decref(rcpts);
    free(host);
    free(from);
    free(user);
    free(pass);
    symbi_dlv_secrets_cleanup(&sec);
    return rc;
}

const struct symbi_delivery_router symbi_dlv_email = {route_email, NULL};
