/* agent_int.h - private interface between the files of the agent module. */
#ifndef SYMBI_AGENT_INT_H
#define SYMBI_AGENT_INT_H

#include "symbi/agent.h"

#include <stdarg.h>
#include <sys/resource.h>
#include <sys/types.h>

/* Sets res's status and formatted error_message; 0, or SYMBI_ENOMEM. */
int symbi_agent__fail(struct symbi_agent_result *res, enum symbi_run_status status, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));

/* Runs a command or exec agent as a process group (process.c). */
int symbi_agent__run_process(const struct symbi_agent_request *req, struct symbi_agent_result *res);

/* a NULL-terminated vector of heap strings (process.c) */
struct symbi_agent__vec {
    char **v;
    size_t n;
    size_t cap;
};
void symbi_agent__vec_free(struct symbi_agent__vec *s);
/* takes ownership of str (freed on failure); 0 or SYMBI_ENOMEM */
int symbi_agent__vec_push(struct symbi_agent__vec *s, char *str);

/* ---- one run's sandbox (sandbox.c, sandbox_bwrap.c, sandbox_cgroup.c) ----
 * Everything is resolved in the parent before fork (user ids, paths,
 * bwrap's location, the run's cgroup), so that the child only makes
 * system calls between fork and exec. */
struct symbi_agent__sandbox {
    bool active; /* the run has a sandbox */
    struct symbi_sandbox sb;
    bool switch_user;
    uid_t uid;
    gid_t gid;
    char bwrap[4096];   /* isolate: bwrap's path */
    int status_pipe[2]; /* isolate: bwrap --json-status-fd (read, write) */
    int cg_procs_fd;    /* the run's cgroup.procs, -1: no cgroup */
    char cg_dir[600];
};

/* The run's sandbox (the agent's, else the request's default), checked
 * and resolved. 0 with sr->active false when there is none; on a sandbox
 * that cannot be had, res is failed with a message saying why (the
 * caller then starts nothing) and 0 is returned; SYMBI_ENOMEM. */
int symbi_agent__sandbox_prepare(const struct symbi_agent_request *req,
                                 struct symbi_agent__sandbox *sr, struct symbi_agent_result *res);
/* isolate: argv becomes bwrap's options, "--", then the program (prog, a
 * resolved path) and argv[1..]; 0 or SYMBI_ENOMEM. */
int symbi_agent__sandbox_wrap(const struct symbi_agent_request *req,
                              const struct symbi_agent__sandbox *sr, const char *prog,
                              struct symbi_agent__vec *argv);
/* In the child between fork and exec (system calls only): sets the
 * limits and no_new_privs, switches the user. 0, or the stage that failed
 * (> 0) with errno set. Joining the cgroup comes first, before the
 * descriptors are placed; its stage number is _join_stage(). */
int symbi_agent__sandbox_enter(const struct symbi_agent__sandbox *sr);
int symbi_agent__sandbox_join_stage(void);
const char *symbi_agent__sandbox_stage(int stage);
/* After the run (status and usage of the reaped leader): says in res
 * which limit stopped the run, if one did; a bwrap that never started
 * the agent fails the run as a sandbox error. Frees what prepare took. */
int symbi_agent__sandbox_finish(struct symbi_agent__sandbox *sr, int status,
                                const struct rusage *ru, struct symbi_agent_result *res);
void symbi_agent__sandbox_cleanup(struct symbi_agent__sandbox *sr);

/* How to start one agent process (spawn.c). Borrowed for the call. */
struct symbi_agent__spawn {
    const char *prog; /* the path given to execve */
    char **argv;
    char **envp;
    int fd_in, fd_out, fd_err;                  /* become 0, 1, 2 */
    int fd_status;                              /* becomes 3 (bwrap's status); -1: none */
    const char *chdir_to;                       /* NULL: the daemon's directory */
    const struct symbi_agent__sandbox *sandbox; /* applied in the child */
};
/* Forks and execs; the child leads a new process group. 0 with *pid once
 * the program runs; else a negative code (SYMBI_EBUSY when a limit made
 * the start fail with EAGAIN) and why (what failed, strerror). */
int symbi_agent__spawn_start(const struct symbi_agent__spawn *p, pid_t *pid, char *why,
                             size_t why_size);

/* the host state found by symbi_agent_sandbox_probe (sandbox.c) */
void symbi_agent__host_set(const struct symbi_sandbox_host *h);
/* The path of program `name` in the daemon's PATH (a name with a '/' is
 * taken as is) into out; false when none is executable (process.c). */
bool symbi_agent__find_program(const char *name, char *out, size_t size);

/* cgroup v2 of one run (sandbox_cgroup.c): created with memory.max and
 * pids.max, its cgroup.procs opened for the child; 0 or a message in err */
int symbi_agent__cgroup_create(struct symbi_agent__sandbox *sr, struct symbi_err *err);
/* counts of memory.events oom_kill and pids.events max; kills what is
 * left in the cgroup and removes it */
void symbi_agent__cgroup_destroy(struct symbi_agent__sandbox *sr, int64_t *oom_kills,
                                 int64_t *pids_max);

#endif
