/* spawn.c - starts an agent process: vfork, then in the child only system
 * calls (its group, descriptors, sandbox, directory) before execve.
 * vfork, not fork: fork copies the page tables of the whole daemon (its
 * workers' stacks, the store's caches) for each agent and then faults
 * every page the daemon writes while the child lives; that was ~4 ms of
 * CPU for each /bin/true. The child shares the daemon's memory until
 * execve, so it writes nothing but its own stack frame and errno, calls no
 * allocator, and changes ids by system call (sandbox.c). */
#include "agent/agent_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define STAGE_FDS   100
#define STAGE_CHDIR 101
#define STAGE_EXEC  102
#define FD_PARK     10 /* descriptors are moved above this before placing them */

struct report {
    int stage;
    int err;
};

static _Noreturn void fail_child(int fd, int stage)
{
    struct report r = {stage, errno};
    ssize_t w = write(fd, &r, sizeof r);
    (void)w;
    _exit(127);
}

static _Noreturn void child_main(const struct symbi_agent__spawn *p, int report)
{
    /* the run's signals at their defaults, none blocked */
    static const int sigs[] = {SIGPIPE, SIGTERM, SIGINT,  SIGHUP,  SIGCHLD, SIGQUIT,
                               SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU, SIGXFSZ};
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(sigs); i++)
        sigaction(sigs[i], &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    const struct symbi_agent__sandbox *sr = p->sandbox;
    if (sr != NULL && sr->cg_procs_fd >= 0 && write(sr->cg_procs_fd, "0", 1) != 1)
        fail_child(report, symbi_agent__sandbox_join_stage());
    /* 0-2, bwrap's status descriptor at 3 (isolate), the report pipe
     * after them (close-on-exec): park each above FD_PARK, then place */
    int src[5] = {p->fd_in, p->fd_out, p->fd_err, p->fd_status, report};
    int n = 0, parked[5];
    for (int i = 0; i < 5; i++) {
        if (src[i] < 0)
            continue;
        if ((parked[n] = fcntl(src[i], F_DUPFD, FD_PARK)) < 0)
            fail_child(report, STAGE_FDS);
        n++;
    }
    for (int i = 0; i < n; i++)
        if (dup2(parked[i], i) != i)
            fail_child(parked[n - 1], STAGE_FDS);
    report = n - 1;
    if (fcntl(report, F_SETFD, FD_CLOEXEC) != 0 || close_range((unsigned)n, ~0U, 0) != 0)
        fail_child(report, STAGE_FDS);
    if (sr != NULL) {
        int stage = symbi_agent__sandbox_enter(sr);
        if (stage != 0)
            fail_child(report, stage);
    }
    if (p->chdir_to != NULL && chdir(p->chdir_to) != 0)
        fail_child(report, STAGE_CHDIR);
    execve(p->prog, p->argv, p->envp);
    fail_child(report, STAGE_EXEC);
}

int symbi_agent__spawn_start(const struct symbi_agent__spawn *p, pid_t *pid, char *why,
                             size_t why_size)
{
    int rp[2];
    if (pipe2(rp, O_CLOEXEC) != 0) {
        snprintf(why, why_size, "pipe: %s", strerror(errno));
        return SYMBI_EIO;
    }
    /* the daemon's signal handlers must not run in the child while it
     * shares the daemon's memory: all blocked across vfork (the child
     * unblocks them once their dispositions are the defaults) */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t c = vfork();
    if (c == 0) {
        close(rp[0]);
        child_main(p, rp[1]);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    int e = errno;
    close(rp[1]);
    if (c < 0) {
        close(rp[0]);
        snprintf(why, why_size, "vfork: %s", strerror(e));
        return SYMBI_EIO;
    }
    /* the group exists before any kill(-pid) of the caller */
    setpgid(c, c);
    struct report r;
    ssize_t got;
    while ((got = read(rp[0], &r, sizeof r)) < 0 && errno == EINTR)
        ;
    close(rp[0]);
    if (got == (ssize_t)sizeof r) {
        while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
            ;
        const char *stage = r.stage == STAGE_EXEC    ? "exec"
                            : r.stage == STAGE_CHDIR ? "changing directory"
                            : r.stage == STAGE_FDS   ? "placing descriptors"
                                                     : symbi_agent__sandbox_stage(r.stage);
        snprintf(why, why_size, "%s: %s", stage, strerror(r.err));
        return r.err == EAGAIN ? SYMBI_EBUSY : SYMBI_EIO;
    }
    *pid = c;
    return 0;
}
