/* sandbox.c - applies an agent's sandbox (SPEC §6.5) to the processes the
 * executor starts: checks against the host, limits, user, and which limit
 * stopped a run. */
#include "agent/agent_int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct symbi_sandbox_host host_state;

const struct symbi_sandbox_host *symbi_agent_sandbox_host(void)
{
    return &host_state; /* written once, by the probe, before threads run */
}

void symbi_agent__host_set(const struct symbi_sandbox_host *h)
{
    host_state = *h;
}

/* The uid and gid of a user name or numeric uid; false when unknown. */
static bool resolve_user(const char *user, uid_t *uid, gid_t *gid)
{
    char buf[16384];
    struct passwd pw, *found = NULL;
    int64_t n;
    if (symbi_parse_i64(user, 0, 4294967294LL, &n) == 0) {
        if (getpwuid_r((uid_t)n, &pw, buf, sizeof buf, &found) != 0 || found == NULL) {
            /* a bare uid without a passwd entry: its own group */
            *uid = (uid_t)n;
            *gid = (gid_t)n;
            return true;
        }
    } else if (getpwnam_r(user, &pw, buf, sizeof buf, &found) != 0 || found == NULL) {
        return false;
    }
    *uid = found->pw_uid;
    *gid = found->pw_gid;
    return true;
}

int symbi_agent_sandbox_check_host(const struct symbi_sandbox *sb, struct symbi_err *err)
{
    const struct symbi_sandbox_host *h = symbi_agent_sandbox_host();
    bool root = geteuid() == 0;
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (sb->user != NULL) {
        if (!resolve_user(sb->user, &uid, &gid))
            return symbi_err_set(err, SYMBI_EINVAL, "sandbox: user \"%s\": no such user", sb->user);
        if (uid != geteuid() && !root)
            return symbi_err_set(err, SYMBI_EINVAL,
                                 "sandbox: user \"%s\": switching users needs a daemon running "
                                 "as root (it runs as uid %u)",
                                 sb->user, (unsigned)geteuid());
    }
    if (sb->processes > 0 && uid == 0 && !h->cgroup)
        return symbi_err_set(err, SYMBI_EINVAL,
                             "sandbox: limits.processes: the agent would run as root, which "
                             "RLIMIT_NPROC does not bind, and the daemon has no delegated cgroup "
                             "v2 for pids.max; give `user` (e.g. \"nobody\")");
    return 0;
}

int symbi_agent_def_check_sandbox(const struct symbi_agent_def *a, const char *default_json,
                                  struct symbi_err *err)
{
    const char *text = a->sandbox != NULL ? a->sandbox : default_json;
    bool runs_processes = a->runner == SYMBI_RUNNER_COMMAND || a->runner == SYMBI_RUNNER_EXEC;
    struct symbi_sandbox sb;
    int rc = 0;
    if (text != NULL && (runs_processes || a->sandbox != NULL)) {
        rc = symbi_agent_sandbox_parse(text, &sb, err);
        if (rc == 0)
            rc = symbi_agent_sandbox_check_host(&sb, err);
        symbi_agent_sandbox_cleanup(&sb);
    }
    if (rc != 0 || a->tools == NULL)
        return rc;
    json_t *tools = json_loads(a->tools, 0, NULL);
    const char *name;
    json_t *t;
    json_object_foreach(tools, name, t)
    {
        const json_t *own = json_object_get(t, "sandbox");
        if (own == NULL)
            continue;
        char *j = json_dumps(own, JSON_COMPACT);
        rc = j != NULL ? symbi_agent_sandbox_parse(j, &sb, err) : SYMBI_ENOMEM;
        if (rc == 0)
            rc = symbi_agent_sandbox_check_host(&sb, err);
        symbi_agent_sandbox_cleanup(&sb);
        free(j);
        if (rc != 0)
            break;
    }
    json_decref(tools);
    return rc;
}

int symbi_agent__sandbox_prepare(const struct symbi_agent_request *req,
                                 struct symbi_agent__sandbox *sr, struct symbi_agent_result *res)
{
    memset(sr, 0, sizeof *sr);
    sr->status_pipe[0] = sr->status_pipe[1] = sr->cg_procs_fd = -1;
    const struct symbi_agent_def *a = req->agent;
    const char *text = a->sandbox != NULL ? a->sandbox : req->default_sandbox;
    if (text == NULL)
        return 0;
    sr->active = true;
    struct symbi_err err;
    symbi_err_clear(&err);
    if (symbi_agent_sandbox_parse(text, &sr->sb, &err) != 0 ||
        symbi_agent_sandbox_check_host(&sr->sb, &err) != 0)
        return err.code == SYMBI_ENOMEM ? SYMBI_ENOMEM
                                        : symbi_agent__fail(res, SYMBI_RUN_FAILED,
                                                            "agent \"%s\": %s; the agent was not "
                                                            "started",
                                                            a->name, err.msg);
    if (sr->sb.user != NULL) {
        resolve_user(sr->sb.user, &sr->uid, &sr->gid);
        sr->switch_user = true;
    }
    if (symbi_agent_sandbox_host()->cgroup && (sr->sb.memory > 0 || sr->sb.processes > 0) &&
        symbi_agent__cgroup_create(sr, &err) != 0)
        return symbi_agent__fail(res, SYMBI_RUN_FAILED, "agent \"%s\": sandbox: %s", a->name,
                                 err.msg);
    if (sr->sb.isolate) {
        if (!symbi_agent__find_program("bwrap", sr->bwrap, sizeof sr->bwrap))
            return symbi_agent__fail(res, SYMBI_RUN_FAILED,
                                     "agent \"%s\": sandbox: isolate needs bwrap (the Debian "
                                     "package bubblewrap), which is not in PATH; the agent was "
                                     "not started",
                                     a->name);
        struct stat st;
        if (a->workdir != NULL && (a->workdir[0] != '/' || stat(a->workdir, &st) != 0))
            return symbi_agent__fail(res, SYMBI_RUN_FAILED,
                                     "agent \"%s\": sandbox: isolate needs workdir \"%s\" to be "
                                     "an existing absolute path; the agent was not started",
                                     a->name, a->workdir);
        for (size_t i = 0; i < sr->sb.n_writable; i++)
            if (stat(sr->sb.writable[i], &st) != 0)
                return symbi_agent__fail(res, SYMBI_RUN_FAILED,
                                         "agent \"%s\": sandbox: writable path \"%s\" does not "
                                         "exist; the agent was not started",
                                         a->name, sr->sb.writable[i]);
        if (pipe2(sr->status_pipe, O_CLOEXEC) != 0)
            return symbi_agent__fail(res, SYMBI_RUN_FAILED, "agent \"%s\": sandbox: pipe: %s",
                                     a->name, strerror(errno));
    }
    return 0;
}

/* ---- in the child ---- */

enum {
    STAGE_CGROUP = 1,
    STAGE_RLIMIT,
    STAGE_NNP,
    STAGE_GROUPS,
    STAGE_GID,
    STAGE_UID,
};

const char *symbi_agent__sandbox_stage(int stage)
{
    static const char *const names[] = {
        [STAGE_CGROUP] = "joining the run's cgroup",
        [STAGE_RLIMIT] = "setting the limits",
        [STAGE_NNP] = "setting no_new_privs",
        [STAGE_GROUPS] = "dropping groups",
        [STAGE_GID] = "switching group",
        [STAGE_UID] = "switching user",
    };
    return stage > 0 && stage < (int)SYMBI_ARRAY_LEN(names) ? names[stage] : "starting";
}

static int limit(int res, rlim_t soft, rlim_t hard)
{
    struct rlimit r = {soft, hard};
    return setrlimit(res, &r);
}

int symbi_agent__sandbox_join_stage(void)
{
    return STAGE_CGROUP;
}

int symbi_agent__sandbox_enter(const struct symbi_agent__sandbox *sr)
{
    if (sr->active) {
        const struct symbi_sandbox *sb = &sr->sb;
        /* RLIMIT_CPU: SIGXCPU at the limit, SIGKILL a second later */
        rlim_t cpu = (rlim_t)((sb->cpu_time_ms + 999) / 1000);
        if ((sb->memory > 0 && limit(RLIMIT_AS, (rlim_t)sb->memory, (rlim_t)sb->memory) != 0) ||
            (cpu > 0 && limit(RLIMIT_CPU, cpu, cpu + 1) != 0) ||
            (sb->processes > 0 &&
             limit(RLIMIT_NPROC, (rlim_t)sb->processes, (rlim_t)sb->processes) != 0) ||
            (sb->open_files > 0 &&
             limit(RLIMIT_NOFILE, (rlim_t)sb->open_files, (rlim_t)sb->open_files) != 0) ||
            (sb->file_size > 0 &&
             limit(RLIMIT_FSIZE, (rlim_t)sb->file_size, (rlim_t)sb->file_size) != 0))
            return STAGE_RLIMIT;
    }
    /* every agent process, sandboxed or not: no privilege gained by exec */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return STAGE_NNP;
    /* the kernel's calls, not glibc's: its set*id wrappers signal every
     * thread they know of, and the vfork child (spawn.c) shares the
     * daemon's memory and so its thread list */
    if (sr->switch_user) {
        if (syscall(SYS_setgroups, 0, NULL) != 0)
            return STAGE_GROUPS;
        if (syscall(SYS_setresgid, sr->gid, sr->gid, sr->gid) != 0)
            return STAGE_GID;
        if (syscall(SYS_setresuid, sr->uid, sr->uid, sr->uid) != 0)
            return STAGE_UID;
    }
    return 0;
}

/* ---- after the run ---- */

static bool has_any(const char *text, const char *const *needles, size_t n)
{
    if (text == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcasestr(text, needles[i]) != NULL)
            return true;
    return false;
}

/* What the agent said on stderr when an allocation or a fork failed. */
static const char *const oom_words[] = {
    "cannot allocate memory", "out of memory",  "memoryerror", "memory exhausted", "bad_alloc",
    "allocation failed",      "cannot allocate"};
static const char *const fork_words[] = {"cannot fork",
                                         "can't fork",
                                         "fork: retry",
                                         "fork failed",
                                         "resource temporarily unavailable",
                                         "blockingioerror"};

/* the child-pid line of bwrap's status: the agent was started */
static bool bwrap_started(int fd)
{
    char buf[4096];
    size_t len = 0;
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    for (;;) {
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == sizeof buf - 1)
            break;
    }
    buf[len] = '\0';
    return strstr(buf, "\"child-pid\"") != NULL;
}

int symbi_agent__sandbox_finish(struct symbi_agent__sandbox *sr, int status,
                                const struct rusage *ru, struct symbi_agent_result *res)
{
    if (!sr->active)
        return 0;
    int64_t oom = 0, pids_max = 0;
    if (sr->cg_procs_fd >= 0)
        symbi_agent__cgroup_destroy(sr, &oom, &pids_max);
    const struct symbi_sandbox *sb = &sr->sb;
    if (sr->status_pipe[0] >= 0 && !bwrap_started(sr->status_pipe[0]) &&
        res->status == SYMBI_RUN_FAILED) {
        const char *e = res->stderr_text != NULL ? res->stderr_text : "";
        size_t n = strcspn(e, "\n");
        return symbi_agent__fail(res, SYMBI_RUN_FAILED,
                                 "sandbox: bwrap could not set up the sandbox (%.*s); the agent "
                                 "was not started",
                                 (int)(n < 300 ? n : 300), e);
    }
    if (res->status == SYMBI_RUN_SUCCEEDED || res->status == SYMBI_RUN_INTERRUPTED)
        return 0;
    /* a signal, or under bwrap (whose exit code is 128 + the signal of
     * the agent) that exit code */
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if (sig == 0 && WIFEXITED(status) && WEXITSTATUS(status) > 128)
        sig = WEXITSTATUS(status) - 128;
    int64_t cpu_ms = (int64_t)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000 +
                     (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1000;
    const char *which = NULL;
    char shown[32];
    if (sb->cpu_time_ms > 0 &&
        (sig == SIGXCPU || (sig == SIGKILL && cpu_ms + 100 >= sb->cpu_time_ms))) {
        which = "cpu time limit";
        symbi_duration_fmt((sb->cpu_time_ms + 999) / 1000 * 1000, shown);
    } else if (sb->file_size > 0 && sig == SIGXFSZ) {
        which = "file size limit";
        snprintf(shown, sizeof shown, "%lld bytes", (long long)sb->file_size);
    } else if (sb->memory > 0 &&
               (oom > 0 || has_any(res->stderr_text, oom_words, SYMBI_ARRAY_LEN(oom_words)) ||
                (int64_t)ru->ru_maxrss * 1024 >= sb->memory / 4 * 3)) {
        which = "memory limit";
        snprintf(shown, sizeof shown, "%lld MiB", (long long)(sb->memory >> 20));
    } else if (sb->processes > 0 && (pids_max > 0 || has_any(res->stderr_text, fork_words,
                                                             SYMBI_ARRAY_LEN(fork_words)))) {
        which = "process limit";
        snprintf(shown, sizeof shown, "%lld", (long long)sb->processes);
    }
    if (which == NULL)
        return 0;
    const char *was = res->error_message != NULL ? res->error_message : "failed";
    if (res->status == SYMBI_RUN_TIMED_OUT)
        return symbi_agent__fail(res, res->status, "%s; %s (%s) reached", was, which, shown);
    return symbi_agent__fail(res, res->status, "%s (%s) reached: %s", which, shown, was);
}

void symbi_agent__sandbox_cleanup(struct symbi_agent__sandbox *sr)
{
    if (sr->cg_procs_fd >= 0) {
        int64_t a, b;
        symbi_agent__cgroup_destroy(sr, &a, &b);
    }
    for (int i = 0; i < 2; i++)
        if (sr->status_pipe[i] >= 0)
            close(sr->status_pipe[i]);
    sr->status_pipe[0] = sr->status_pipe[1] = -1;
    symbi_agent_sandbox_cleanup(&sr->sb);
    sr->active = false;
}
