/* process.c - command and exec agents (SPEC §6.1): spawns the process in its
 * own group with the input on stdin and the SYMBI_* environment, captures
 * bounded stdout/stderr with poll(), enforces max_runtime and cancellation. */
#include "agent/agent_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define ENV_MAX_VARS   4096
#define EXEC_MAX_ARGS  1024
#define READ_CHUNK     65536
#define CANCEL_POLL_MS 100

void symbi_agent__vec_free(struct symbi_agent__vec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

int symbi_agent__vec_push(struct symbi_agent__vec *s, char *str)
{
    if (str == NULL)
        return SYMBI_ENOMEM;
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        char **v = realloc(s->v, cap * sizeof *v);
        if (v == NULL) {
            free(str);
            return SYMBI_ENOMEM;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = str;
    s->v[s->n] = NULL;
    return 0;
}

bool symbi_agent__find_program(const char *name, char *out, size_t size)
{
    if (strchr(name, '/') != NULL) {
        if (strlen(name) >= size)
            return false;
        memcpy(out, name, strlen(name) + 1);
        return access(out, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path;; p++) {
        size_t n = strcspn(p, ":");
        int w = n == 0 ? snprintf(out, size, "./%s", name)
                       : snprintf(out, size, "%.*s/%s", (int)n, p, name);
        if (w > 0 && (size_t)w < size && access(out, X_OK) == 0) {
            struct stat st;
            if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
                return true;
        }
        p += n;
        if (*p == '\0')
            break;
    }
    return false;
}

static char *kv(const char *k, const char *v)
{
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    if (symbi_buf_printf(&b, "%s=%s", k, v) != 0) {
        symbi_buf_cleanup(&b);
        return NULL;
    }
    return symbi_buf_steal(&b);
}

/* true when env entry e ("K=V") names a key set by `keys` */
static bool key_in(const char *e, const char *const *keys, size_t n)
{
    const char *eq = strchr(e, '=');
    size_t kl = eq != NULL ? (size_t)(eq - e) : strlen(e);
    for (size_t i = 0; i < n; i++)
        if (strlen(keys[i]) == kl && memcmp(keys[i], e, kl) == 0)
            return true;
    return false;
}

/* The child's environment: the daemon's, minus what the run sets, plus the
 * SYMBI_* variables, plus the agent's `env` map (which wins). */
static int build_env(const struct symbi_agent_request *req, struct symbi_agent__vec *env,
                     struct symbi_agent_result *res)
{
    char sched[SYMBI_TIME_STRLEN], attempt[24], iteration[24];
    symbi_time_fmt(req->scheduled_at, sched);
    snprintf(attempt, sizeof attempt, "%d", req->attempt > 0 ? req->attempt : 1);
    snprintf(iteration, sizeof iteration, "%d", req->iteration);
    const char *keys[ENV_MAX_VARS];
    const char *vals[ENV_MAX_VARS];
    size_t n = 0;
#define SETV(k, v)                                                                                 \
    do {                                                                                           \
        if ((v) != NULL) {                                                                         \
            keys[n] = (k);                                                                         \
            vals[n] = (v);                                                                         \
            n++;                                                                                   \
        }                                                                                          \
    } while (0)
    SETV("SYMBI_JOB_ID", req->job_id);
    SETV("SYMBI_JOB_NAME", req->job_name);
    SETV("SYMBI_RUN_ID", req->run_id);
    SETV("SYMBI_AGENT", req->agent->name);
    SETV("SYMBI_TRIGGER", req->trigger);
    SETV("SYMBI_SCHEDULED_AT", req->scheduled_at != SYMBI_TIME_NONE ? sched : NULL);
    SETV("SYMBI_ATTEMPT", attempt);
    SETV("SYMBI_SESSION_MODE", req->session_mode);
    SETV("SYMBI_CONTEXT_FILE", req->context_file);
    SETV("SYMBI_ITERATION", req->iteration > 0 ? iteration : NULL);
    SETV("SYMBI_ENVIRONMENT", req->environment);
#undef SETV
    json_t *map = NULL;
    if (req->agent->env != NULL && req->agent->env[0] != '\0') {
        map = json_loads(req->agent->env, 0, NULL);
        if (!json_is_object(map)) {
            json_decref(map);
            return symbi_agent__fail(res, SYMBI_RUN_FAILED,
                                     "agent \"%s\": env is not a JSON object of strings",
                                     req->agent->name);
        }
        const char *k;
        json_t *v;
        json_object_foreach(map, k, v)
        {
            if (!json_is_string(v) || n >= ENV_MAX_VARS || k[0] == '\0' || strchr(k, '=')) {
                json_decref(map);
                return symbi_agent__fail(res, SYMBI_RUN_FAILED,
                                         "agent \"%s\": bad env entry \"%s\"", req->agent->name, k);
            }
            keys[n] = k;
            vals[n] = json_string_value(v);
            n++;
        }
    }
    /* The daemon's own SYMBI_* variables (its configuration and
     * credentials: SYMBI_API_KEY, SYMBI_LLM_API_KEY, SYMBI_SLACK_TOKEN,
     * SYMBI_WEBHOOK_AUTH_HEADER, ...) are not inherited: an agent sees only
     * the SYMBI_* variables of its run, and gets a secret only when its
     * `env` map names it. */
    int rc = 0;
    for (char **e = environ; rc == 0 && e != NULL && *e != NULL; e++)
        if (strncmp(*e, "SYMBI_", 6) != 0 && !key_in(*e, keys, n))
            rc = symbi_agent__vec_push(env, symbi_strdup(*e));
    /* later keys (the agent's env) win over earlier ones */
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (!key_in(keys[i], keys + i + 1, n - i - 1))
            rc = symbi_agent__vec_push(env, kv(keys[i], vals[i]));
    json_decref(map);
    return rc;
}

static int build_argv(const struct symbi_agent_request *req, struct symbi_agent__vec *argv,
                      struct symbi_agent_result *res)
{
    const struct symbi_agent_def *a = req->agent;
    if (a->runner == SYMBI_RUNNER_COMMAND) {
        if (a->command == NULL || a->command[0] == '\0')
            return symbi_agent__fail(res, SYMBI_RUN_FAILED, "agent \"%s\": empty command", a->name);
        int rc = symbi_agent__vec_push(argv, symbi_strdup("/bin/sh"));
        if (rc == 0)
            rc = symbi_agent__vec_push(argv, symbi_strdup("-c"));
        if (rc == 0)
            rc = symbi_agent__vec_push(argv, symbi_strdup(a->command));
        return rc;
    }
    json_t *arr = a->exec != NULL ? json_loads(a->exec, 0, NULL) : NULL;
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > EXEC_MAX_ARGS) {
        json_decref(arr);
        return symbi_agent__fail(res, SYMBI_RUN_FAILED,
                                 "agent \"%s\": exec must be a non-empty array of strings",
                                 a->name);
    }
    size_t i;
    json_t *v;
    int rc = 0;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v)) {
            rc = symbi_agent__fail(res, SYMBI_RUN_FAILED,
                                   "agent \"%s\": exec element %zu is not a string", a->name, i);
            break;
        }
        rc = symbi_agent__vec_push(argv, symbi_strdup(json_string_value(v)));
        if (rc != 0)
            break;
    }
    json_decref(arr);
    return rc;
}

/* the input as a sealed in-memory file for stdin (no pipe to keep fed) */
static int input_fd(const char *input)
{
    int fd = memfd_create("symbi-input", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = input != NULL ? strlen(input) : 0;
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, input + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

struct capture {
    int fd;
    struct symbi_buf buf;
    size_t total;
    bool truncated;
};

/* Reads what is available; returns false at EOF or error. Past the bound
 * the bytes are counted and dropped, so a writer never blocks. */
static bool capture_read(struct capture *c)
{
    char chunk[READ_CHUNK];
    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t r = read(c->fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (r <= 0)
            return false;
        c->total += (size_t)r;
        if (!c->truncated) {
            size_t room = c->buf.max - c->buf.len;
            size_t take = (size_t)r < room ? (size_t)r : room;
            if (take > 0 && symbi_buf_append(&c->buf, chunk, take) != 0)
                c->truncated = true;
            if (take < (size_t)r)
                c->truncated = true;
        }
    }
    return true;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int symbi_agent__run_process(const struct symbi_agent_request *req, struct symbi_agent_result *res)
{
    const struct symbi_agent_def *a = req->agent;
    struct symbi_agent__vec argv = {0}, env = {0};
    int in = -1, outp[2] = {-1, -1}, errp[2] = {-1, -1}, pidfd = -1;
    struct capture cap[2];
    size_t out_max = req->max_output_bytes ? req->max_output_bytes : SYMBI_AGENT_DEFAULT_OUTPUT_MAX;
    symbi_buf_init(&cap[0].buf, out_max);
    symbi_buf_init(&cap[1].buf, SYMBI_AGENT_STDERR_MAX);
    cap[0].total = cap[1].total = 0;
    cap[0].truncated = cap[1].truncated = false;
    pid_t pid = -1;
    struct symbi_agent__sandbox sr;
    memset(&sr, 0, sizeof sr);
    sr.status_pipe[0] = sr.status_pipe[1] = sr.cg_procs_fd = -1;
    int rc = build_argv(req, &argv, res);
    if (rc != 0 || res->error_message != NULL)
        goto out;
    rc = build_env(req, &env, res);
    if (rc != 0 || res->error_message != NULL)
        goto out;
    in = input_fd(req->input);
    if (in < 0 || pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
        rc = symbi_agent__fail(res, SYMBI_RUN_FAILED, "agent \"%s\": cannot create pipes: %s",
                               a->name, strerror(errno));
        goto out;
    }
    char prog[4096];
    if (!symbi_agent__find_program(argv.v[0], prog, sizeof prog)) {
        rc = symbi_agent__fail(res, SYMBI_RUN_FAILED, "agent \"%s\": cannot start %s: %s", a->name,
                               argv.v[0], strerror(ENOENT));
        goto out;
    }
    rc = symbi_agent__sandbox_prepare(req, &sr, res);
    if (rc != 0 || res->error_message != NULL)
        goto out;
    if (sr.sb.isolate && (rc = symbi_agent__sandbox_wrap(req, &sr, prog, &argv)) != 0)
        goto out;
    bool wd = a->workdir != NULL && a->workdir[0] != '\0';
    struct symbi_agent__spawn sp = {
        .prog = sr.sb.isolate ? sr.bwrap : prog,
        .argv = argv.v,
        .envp = env.v,
        .fd_in = in,
        .fd_out = outp[1],
        .fd_err = errp[1],
        .fd_status = sr.status_pipe[1],
        .chdir_to = wd && !sr.sb.isolate ? a->workdir : NULL,
        .sandbox = &sr,
    };
    char why[600];
    int serr = symbi_agent__spawn_start(&sp, &pid, why, sizeof why);
    if (sr.status_pipe[1] >= 0) {
        close(sr.status_pipe[1]);
        sr.status_pipe[1] = -1;
    }
    if (serr != 0) {
        pid = -1;
        rc = symbi_agent__fail(
            res, SYMBI_RUN_FAILED, "agent \"%s\": cannot start %s%s%s: %s%s", a->name, argv.v[0],
            wd ? " in " : "", wd ? a->workdir : "", why,
            serr == SYMBI_EBUSY && sr.sb.processes > 0 ? " (process limit reached)" : "");
        goto out;
    }
    close(outp[1]);
    close(errp[1]);
    close(in);
    outp[1] = errp[1] = in = -1;
    cap[0].fd = outp[0];
    cap[1].fd = errp[0];
    fcntl(outp[0], F_SETFL, O_NONBLOCK);
    fcntl(errp[0], F_SETFL, O_NONBLOCK);
    pidfd = pidfd_open(pid, 0);
    if (req->on_group != NULL)
        req->on_group(req->on_group_ud, (int)pid);

    int64_t start = symbi_now_mono_ms();
    int64_t runtime = req->max_runtime_ms > 0 ? req->max_runtime_ms : a->timeout_ms;
    int64_t grace = req->kill_grace_ms > 0 ? req->kill_grace_ms : SYMBI_AGENT_KILL_GRACE_MS;
    int64_t term_at = runtime > 0 ? start + runtime : INT64_MAX;
    int64_t kill_at = INT64_MAX;
    int64_t exited_at = 0;
    bool timed_out = false, cancelled = false, exited = false, open[2] = {true, true};
    siginfo_t si;
    memset(&si, 0, sizeof si);
    while (open[0] || open[1] || !exited) {
        int64_t now = symbi_now_mono_ms();
        if (!exited && !timed_out && !cancelled && now >= term_at) {
            timed_out = true;
            kill(-pid, SIGTERM);
            kill_at = now + grace;
        }
        if (!exited && !timed_out && !cancelled && req->cancel != NULL &&
            atomic_load(&req->cancel->cancelled)) {
            cancelled = true;
            kill(-pid, SIGTERM);
            kill_at = now + req->cancel->grace_ms;
        }
        if (!exited && now >= kill_at) {
            kill(-pid, SIGKILL);
            kill_at = INT64_MAX;
        }
        /* a process that left the group (setsid) may hold the pipes open:
         * stop reading a second after the leader exited */
        if (exited && now - exited_at > 1000)
            break;
        int64_t wait = exited ? exited_at + 1000 - now : INT64_MAX;
        if (!exited) {
            wait = min64(term_at, kill_at) - now;
            if (req->cancel != NULL || pidfd < 0)
                wait = min64(wait, pidfd < 0 ? 20 : CANCEL_POLL_MS);
        }
        struct pollfd pfd[3];
        int np = 0, idx[3] = {-1, -1, -1};
        for (int i = 0; i < 2; i++) {
            if (open[i]) {
                idx[np] = i;
                pfd[np++] = (struct pollfd){.fd = cap[i].fd, .events = POLLIN};
            }
        }
        int pid_slot = -1;
        if (!exited && pidfd >= 0) {
            pid_slot = np;
            pfd[np++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
        }
        int timeout = wait == INT64_MAX ? -1 : (int)(wait < 0 ? 0 : min64(wait, 1000000));
        int pr = poll(pfd, (nfds_t)np, timeout);
        if (pr < 0 && errno != EINTR)
            break;
        for (int k = 0; pr > 0 && k < np; k++) {
            if (k == pid_slot || pfd[k].revents == 0)
                continue;
            int i = idx[k];
            if (!capture_read(&cap[i])) {
                open[i] = false;
                close(cap[i].fd);
                cap[i].fd = -1;
                if (i == 0)
                    outp[0] = -1;
                else
                    errp[0] = -1;
            }
        }
        if (!exited && (pidfd < 0 || (pid_slot >= 0 && pr > 0 && pfd[pid_slot].revents))) {
            memset(&si, 0, sizeof si);
            if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                si.si_pid == pid) {
                exited = true;
                exited_at = symbi_now_mono_ms();
                /* the leader is gone (a zombie still holding the group id):
                 * nothing of its group may outlive the run */
                kill(-pid, SIGKILL);
            }
        }
    }
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
        ;
    pid = -1;
    if (req->on_group != NULL)
        req->on_group(req->on_group_ud, 0);
    res->output_total = cap[0].total;
    res->output_truncated = cap[0].truncated;
    res->output_len = cap[0].buf.len;
    res->output = symbi_buf_steal(&cap[0].buf);
    res->stderr_text = symbi_buf_steal(&cap[1].buf);
    if (res->output == NULL || res->stderr_text == NULL) {
        rc = SYMBI_ENOMEM;
        goto out;
    }
    if (WIFEXITED(status)) {
        res->has_exit_code = true;
        res->exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        res->term_signal = WTERMSIG(status);
    }
    if (timed_out) {
        char d[32];
        rc = symbi_agent__fail(res, SYMBI_RUN_TIMED_OUT, "timed out after %s (max_runtime)",
                               symbi_duration_fmt(runtime, d));
    } else if (cancelled) {
        rc = symbi_agent__fail(res, SYMBI_RUN_INTERRUPTED,
                               "interrupted: the scheduler shut down during the run");
    } else if (res->has_exit_code && res->exit_code == 0) {
        res->status = SYMBI_RUN_SUCCEEDED;
    } else if (res->has_exit_code && res->exit_code == 127 && a->runner == SYMBI_RUNNER_EXEC) {
        rc = symbi_agent__fail(res, SYMBI_RUN_FAILED, "exit code 127 (command not found?)");
    } else if (res->has_exit_code) {
        rc = symbi_agent__fail(res, SYMBI_RUN_FAILED, "exit code %d", res->exit_code);
    } else {
        const char *abbrev = sigabbrev_np(res->term_signal);
        rc = symbi_agent__fail(res, SYMBI_RUN_FAILED, "killed by signal %d (SIG%s)",
                               res->term_signal, abbrev != NULL ? abbrev : "?");
    }
    if (rc == 0)
        rc = symbi_agent__sandbox_finish(&sr, status, &ru, res);
out:
    if (pid > 0) {
        kill(-pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        if (req->on_group != NULL)
            req->on_group(req->on_group_ud, 0);
    }
    int fds[] = {in, outp[0], outp[1], errp[0], errp[1], pidfd};
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(fds); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    symbi_buf_cleanup(&cap[0].buf);
    symbi_buf_cleanup(&cap[1].buf);
    symbi_agent__sandbox_cleanup(&sr);
    symbi_agent__vec_free(&argv);
    symbi_agent__vec_free(&env);
    return rc;
}
