/* sandbox_bwrap.c - `isolate: true` (SPEC §6.5): the bubblewrap command
 * line around an agent's program (namespaces, read-only root, binds). */
#include "agent/agent_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int push(struct symbi_agent__vec *v, const char *s)
{
    return symbi_agent__vec_push(v, symbi_strdup(s));
}

static int push3(struct symbi_agent__vec *v, const char *a, const char *b, const char *c)
{
    int rc = push(v, a);
    if (rc == 0)
        rc = push(v, b);
    if (rc == 0 && c != NULL)
        rc = push(v, c);
    return rc;
}

int symbi_agent__sandbox_wrap(const struct symbi_agent_request *req,
                              const struct symbi_agent__sandbox *sr, const char *prog,
                              struct symbi_agent__vec *argv)
{
    struct symbi_agent__vec w = {0};
    const struct symbi_agent_def *a = req->agent;
    /* --die-with-parent: the namespace dies with bwrap, so a kill of the
     * run's process group (bwrap leads it) ends the whole sandboxed tree;
     * no --new-session, which would move the agent out of that group (the
     * agent has no terminal: its stdin is a memory file) */
    int rc = push(&w, sr->bwrap);
    static const char *const fixed[] = {"--die-with-parent", "--unshare-pid", "--unshare-ipc",
                                        "--unshare-uts"};
    for (size_t i = 0; rc == 0 && i < SYMBI_ARRAY_LEN(fixed); i++)
        rc = push(&w, fixed[i]);
    if (rc == 0 && !sr->sb.network)
        rc = push(&w, "--unshare-net");
    if (rc == 0)
        rc = push3(&w, "--ro-bind", "/", "/");
    if (rc == 0)
        rc = push3(&w, "--dev", "/dev", NULL);
    if (rc == 0)
        rc = push3(&w, "--proc", "/proc", NULL);
    if (rc == 0)
        rc = push3(&w, "--tmpfs", "/tmp", NULL);
    /* binds come after the private /tmp, so a path under /tmp shows */
    if (rc == 0 && a->workdir != NULL && a->workdir[0] != '\0')
        rc = push3(&w, "--bind", a->workdir, a->workdir);
    for (size_t i = 0; rc == 0 && i < sr->sb.n_writable; i++)
        rc = push3(&w, "--bind", sr->sb.writable[i], sr->sb.writable[i]);
    if (rc == 0 && req->context_file != NULL)
        rc = push3(&w, "--ro-bind", req->context_file, req->context_file);
    if (rc == 0 && a->workdir != NULL && a->workdir[0] != '\0')
        rc = push3(&w, "--chdir", a->workdir, NULL);
    if (rc == 0)
        rc = push3(&w, "--json-status-fd", "3", "--");
    if (rc == 0)
        rc = push(&w, prog);
    for (size_t i = 1; rc == 0 && i < argv->n; i++) {
        rc = symbi_agent__vec_push(&w, argv->v[i]);
        argv->v[i] = NULL; /* moved */
    }
    if (rc != 0) {
        symbi_agent__vec_free(&w);
        return rc;
    }
    symbi_agent__vec_free(argv);
    *argv = w;
    return 0;
}
