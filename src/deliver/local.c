/* local.c - the channels that stay on this machine: stdout (a header line
 * and the output), log_file (one record per run appended inside log_dir,
 * no `..` or symlink escape) and custom commands fed the payload on stdin. */
#include "deliver/deliver_int.h"

#include "symbi/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_PATH_MAX  1024
#define LOG_DEPTH_MAX 16
#define STDERR_KEEP   300

/* Writes all of b to fd (restarting on EINTR and short writes). */
static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static const char *job_label(const struct symbi_job *job, const struct symbi_run *run)
{
    if (run->job_name != NULL)
        return run->job_name;
    if (job != NULL && job->name != NULL)
        return job->name;
    return run->agent != NULL ? run->agent : "-";
}

/* "status=... attempt=... trigger=... duration_ms=..." */
static int put_facts(struct symbi_buf *b, const struct symbi_run *run, size_t out_len)
{
    return symbi_buf_printf(
        b, "status=%s attempt=%d trigger=%s duration_ms=%lld output_bytes=%zu%s",
        symbi_run_status_name(run->status), run->attempt, symbi_trigger_name(run->trigger),
        (long long)(run->execution_time_ms < 0 ? 0 : run->execution_time_ms), out_len,
        run->output_truncated ? " truncated=true" : "");
}

/* ---- stdout ---- */

static int route_stdout(struct symbi_delivery_ctx *ctx, const char *channel,
                        const struct symbi_job *job, const struct symbi_run *run,
                        const char *output)
{
    (void)channel;
    struct symbi_deliver *d = ctx->router;
    size_t len = strlen(output);
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    char at[SYMBI_TIME_STRLEN];
    int rc = symbi_buf_printf(
        &b, "==> [symbi] %s run %s at %s ", job_label(job, run), run->id,
        symbi_time_fmt(run->finished_at != SYMBI_TIME_NONE ? run->finished_at : symbi_now_wall_ms(),
                       at));
    if (rc == 0)
        rc = put_facts(&b, run, len);
    if (rc == 0)
        rc = symbi_buf_puts(&b, " <==\n");
    if (rc == 0)
        rc = symbi_buf_append(&b, output, len);
    if (rc == 0 && (len == 0 || output[len - 1] != '\n'))
        rc = symbi_buf_putc(&b, '\n');
    if (rc != 0) {
        symbi_buf_cleanup(&b);
        return symbi_dlv_fail(ctx->receipt, "out of memory");
    }
    /* one block at a time, so concurrent runs do not interleave */
    pthread_mutex_lock(&d->stdout_lock);
    int w = write_all(d->stdout_fd, b.data, b.len);
    int e = errno;
    pthread_mutex_unlock(&d->stdout_lock);
    symbi_buf_cleanup(&b);
    if (w != 0)
        return symbi_dlv_fail(ctx->receipt, "cannot write to stdout: %s", strerror(e));
    return 0;
}

const struct symbi_delivery_router symbi_dlv_stdout = {route_stdout, NULL};

/* ---- log_file ---- */

/* mkdir -p of the log directory itself (the operator's path, trusted). */
static int mkdirs(const char *path)
{
    char tmp[LOG_PATH_MAX * 2];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return -1;
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

/* Opens rel for appending beneath the directory dirfd, one component at a
 * time with O_NOFOLLOW (missing directories are created), so neither `..`
 * nor a symbolic link leads outside. The file must be a regular file with
 * one link. Returns the descriptor or -1 with *why set. */
static int open_beneath(int dirfd, const char *rel, const char **why)
{
    char comp[256];
    int cur = dup(dirfd);
    int depth = 0;
    if (cur < 0) {
        *why = strerror(errno);
        return -1;
    }
    const char *p = rel;
    for (;;) {
        size_t n = strcspn(p, "/");
        bool last = p[n] == '\0';
        if (n == 0 || n >= sizeof comp || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.') || ++depth > LOG_DEPTH_MAX) {
            *why = "the path must be relative, without `.`, `..` or empty parts";
            close(cur);
            return -1;
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        int next;
        if (last) {
            next =
                openat(cur, comp,
                       O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0640);
        } else {
            if (mkdirat(cur, comp, 0750) != 0 && errno != EEXIST) {
                *why = strerror(errno);
                close(cur);
                return -1;
            }
            next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        int e = errno;
        close(cur);
        if (next < 0) {
            *why = e == ELOOP || e == ENOTDIR ? "a symbolic link or non-directory is in the path"
                                              : strerror(e);
            return -1;
        }
        cur = next;
        if (last)
            break;
        p += n + 1;
    }
    struct stat st;
    if (fstat(cur, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink > 1) {
        *why = "not a regular file with a single link";
        close(cur);
        return -1;
    }
    return cur;
}

static int route_log_file(struct symbi_delivery_ctx *ctx, const char *channel,
                          const struct symbi_job *job, const struct symbi_run *run,
                          const char *output)
{
    (void)channel;
    struct symbi_deliver *d = ctx->router;
    char rel[LOG_PATH_MAX + 8];
    if (job != NULL && job->log_file != NULL)
        snprintf(rel, sizeof rel, "%s", job->log_file);
    else
        snprintf(rel, sizeof rel, "%s.log", job_label(job, run));
    if (strlen(rel) > LOG_PATH_MAX)
        return symbi_dlv_fail(ctx->receipt, "log_file: the path is longer than %d", LOG_PATH_MAX);
    if (mkdirs(d->log_dir) != 0)
        return symbi_dlv_fail(ctx->receipt, "log_file: cannot create the log directory: %s",
                              strerror(errno));
    int dirfd = open(d->log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return symbi_dlv_fail(ctx->receipt, "log_file: cannot open the log directory: %s",
                              strerror(errno));
    const char *why = "";
    int fd = open_beneath(dirfd, rel, &why);
    close(dirfd);
    if (fd < 0)
        return symbi_dlv_fail(ctx->receipt, "log_file \"%s\": %s", rel, why);

    size_t len = strlen(output);
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    char at[SYMBI_TIME_STRLEN];
    int rc = symbi_buf_printf(
        &b, "--- %s job=%s run=%s ",
        symbi_time_fmt(run->finished_at != SYMBI_TIME_NONE ? run->finished_at : symbi_now_wall_ms(),
                       at),
        job_label(job, run), run->id);
    if (rc == 0)
        rc = put_facts(&b, run, len);
    if (rc == 0)
        rc = symbi_buf_putc(&b, '\n');
    if (rc == 0)
        rc = symbi_buf_append(&b, output, len);
    if (rc == 0 && (len == 0 || output[len - 1] != '\n'))
        rc = symbi_buf_putc(&b, '\n');
    if (rc != 0) {
        close(fd);
        symbi_buf_cleanup(&b);
        return symbi_dlv_fail(ctx->receipt, "out of memory");
    }
    /* O_APPEND puts each write at the end; the lock keeps a record whole
     * against other runs and other processes writing the same file */
    int fl;
    while ((fl = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
        ;
    int w = write_all(fd, b.data, b.len);
    int e = errno;
    if (fl == 0)
        flock(fd, LOCK_UN);
    close(fd);
    symbi_buf_cleanup(&b);
    if (w != 0)
        return symbi_dlv_fail(ctx->receipt, "log_file \"%s\": %s", rel, strerror(e));
    return 0;
}

const struct symbi_delivery_router symbi_dlv_log_file = {route_log_file, NULL};

/* ---- custom command channels ---- */

/* The payload on stdin of `/bin/sh -c command`, with the agent executor's
 * process hygiene (own process group, no daemon secrets in the
 * environment, killed at the timeout). Exit 0 is delivered. One attempt:
 * a command may not be safe to repeat. */
static int route_command(struct symbi_delivery_ctx *ctx, const char *channel,
                         const struct symbi_job *job, const struct symbi_run *run,
                         const char *output)
{
    (void)output;
    const struct symbi_custom_channel *cc = ctx->ud;
    struct symbi_agent_def def;
    symbi_agent_def_init(&def);
    def.runner = SYMBI_RUNNER_COMMAND;
    def.timeout_ms = symbi_dlv_attempt_ms(ctx->router);
    if (def.timeout_ms <= 0)
        return symbi_dlv_fail(ctx->receipt, DLV_STOPPED);
    /* borrowed for the call, handed back before cleanup */
    def.name = (char *)channel;
    def.command = cc->command;
    struct symbi_agent_request rq;
    memset(&rq, 0, sizeof rq);
    rq.agent = &def;
    rq.agent_name = channel;
    rq.input = ctx->payload;
    rq.job_id = job != NULL && job->id[0] != '\0' ? job->id : NULL;
    rq.job_name = run->job_name;
    rq.run_id = run->id;
    rq.trigger = symbi_trigger_name(run->trigger);
    rq.scheduled_at = run->scheduled_at;
    rq.attempt = run->attempt;
    rq.environment = ctx->environment;
    rq.max_output_bytes = 64 * 1024;
    struct symbi_agent_result res;
    symbi_agent_result_init(&res);
    struct symbi_err err;
    symbi_err_clear(&err);
    int rc = symbi_agent_execute(&rq, &res, &err);
    def.name = NULL;
    def.command = NULL;
    symbi_agent_def_cleanup(&def);
    if (rc != 0) {
        symbi_agent_result_cleanup(&res);
        return symbi_dlv_fail(ctx->receipt, "command: %s", err.msg);
    }
    if (res.has_exit_code) {
        ctx->receipt->status = res.exit_code;
        ctx->receipt->has_status = true;
    }
    if (res.status == SYMBI_RUN_SUCCEEDED) {
        symbi_agent_result_cleanup(&res);
        return 0;
    }
    const char *se = res.stderr_text != NULL ? res.stderr_text : "";
    size_t sl = strlen(se);
    while (sl > 0 && (se[sl - 1] == '\n' || se[sl - 1] == '\r'))
        sl--;
    size_t from = sl > STDERR_KEEP ? sl - STDERR_KEEP : 0;
    while (from < sl && ((unsigned char)se[from] & 0xC0) == 0x80)
        from++;
    rc = symbi_dlv_fail(ctx->receipt, "command: %s%s%.*s",
                        res.error_message != NULL ? res.error_message : "failed",
                        sl > from ? ": " : "", (int)(sl - from), se + from);
    symbi_agent_result_cleanup(&res);
    return rc;
}

const struct symbi_delivery_router symbi_dlv_command = {route_command, NULL};
