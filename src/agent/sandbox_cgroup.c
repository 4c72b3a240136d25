/* sandbox_cgroup.c - cgroup v2 for sandboxed runs (SPEC §6.5): detects a
 * delegated cgroup at start-up, gives each limited run its own with
 * memory.max / pids.max, and reads back what the kernel counted. */
#include "agent/agent_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define CGROUP_NS_INIT_INO 4026531835UL /* the initial cgroup namespace */

static atomic_uint run_seq;

/* Reads a small file into buf (NUL-terminated); false when it cannot. */
static bool read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, size - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || (len += (size_t)r) == size - 1)
            break;
    }
    close(fd);
    buf[len] = '\0';
    return true;
}

static bool write_small(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t w = write(fd, text, strlen(text));
    close(fd);
    return w == (ssize_t)strlen(text);
}

/* true when the space-separated list holds word */
static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

/* The mount point of the cgroup2 hierarchy, from /proc/self/mountinfo. */
static bool cgroup2_mount(char *out, size_t size)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (f == NULL)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        const char *sep = strstr(line, " - cgroup2 ");
        if (sep == NULL)
            continue;
        /* id parent major:minor root mountpoint ... */
        char *p = line;
        for (int field = 0; field < 4 && p != NULL; field++)
            p = strchr(p + 1, ' ');
        if (p == NULL)
            continue;
        p++;
        size_t n = strcspn(p, " ");
        if (n > 0 && n < size) {
            memcpy(out, p, n);
            out[n] = '\0';
            found = true;
        }
    }
    fclose(f);
    return found;
}

static void no_cgroup(struct symbi_sandbox_host *h, const char *why)
{
    h->cgroup = false;
    snprintf(h->why, sizeof h->why, "%s", why);
}

void symbi_agent_sandbox_probe(bool use_cgroup, struct symbi_sandbox_host *out)
{
    struct symbi_sandbox_host h;
    memset(&h, 0, sizeof h);
    h.root = geteuid() == 0;
    char cg[1024] = "", mnt[512], dir[1600], buf[1024];
    if (!use_cgroup) {
        no_cgroup(&h, "not used by this command (limits come from setrlimit)");
        goto done;
    }
    if (read_small("/proc/self/cgroup", cg, sizeof cg)) {
        char *v2 = strstr(cg, "0::");
        if (v2 != NULL && (v2 == cg || v2[-1] == '\n')) {
            memmove(cg, v2 + 3, strlen(v2 + 3) + 1);
            cg[strcspn(cg, "\n")] = '\0';
        } else {
            cg[0] = '\0';
        }
    }
    if (cg[0] != '/' || !cgroup2_mount(mnt, sizeof mnt)) {
        no_cgroup(&h, "no cgroup v2 hierarchy");
        goto done;
    }
    snprintf(dir, sizeof dir, "%s%.1000s", mnt, strcmp(cg, "/") == 0 ? "" : cg);
    /* delegated: systemd's Delegate=yes marks the cgroup with the
     * trusted.delegate (or user.delegate) attribute; the root of a cgroup
     * namespace (a container's) is its owner's to use; the host's root
     * cgroup is not taken over */
    bool delegated = getxattr(dir, "trusted.delegate", buf, sizeof buf) > 0 ||
                     getxattr(dir, "user.delegate", buf, sizeof buf) > 0;
    struct stat ns;
    if (!delegated && strcmp(cg, "/") == 0 && stat("/proc/self/ns/cgroup", &ns) == 0 &&
        ns.st_ino != CGROUP_NS_INIT_INO)
        delegated = true;
    char path[2200];
    snprintf(path, sizeof path, "%s/cgroup.controllers", dir);
    if (!read_small(path, buf, sizeof buf) || !has_word(buf, "memory") || !has_word(buf, "pids")) {
        char why[256];
        snprintf(why, sizeof why,
                 "the cgroup %.150s lacks the memory and pids controllers (cgroup v1 or a "
                 "hybrid hierarchy holds them)",
                 dir);
        no_cgroup(&h, why);
        goto done;
    }
    if (!delegated) {
        char why[256];
        snprintf(why, sizeof why,
                 "the cgroup %.150s is not delegated to the daemon "
                 "(systemd: Delegate=yes)",
                 dir);
        no_cgroup(&h, why);
        goto done;
    }
    /* no process may stay in a cgroup that hands controllers down: the
     * daemon moves into a leaf beside the runs' cgroups */
    char leaf[2100], pid[32];
    snprintf(leaf, sizeof leaf, "%.1600s/symbi-daemon", dir);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    snprintf(path, sizeof path, "%s/cgroup.procs", leaf);
    if ((mkdir(leaf, 0755) != 0 && errno != EEXIST) || !write_small(path, pid)) {
        char why[256];
        snprintf(why, sizeof why, "cannot move into %.150s: %s", leaf, strerror(errno));
        no_cgroup(&h, why);
        goto done;
    }
    snprintf(path, sizeof path, "%s/cgroup.subtree_control", dir);
    if (!write_small(path, "+memory +pids")) {
        char why[256];
        snprintf(why, sizeof why, "cannot enable memory and pids in %.150s: %s", dir,
                 strerror(errno));
        no_cgroup(&h, why);
        goto done;
    }
    h.cgroup = true;
    snprintf(h.cgroup_path, sizeof h.cgroup_path, "%.500s", dir);
done:
    symbi_agent__host_set(&h);
    if (out != NULL)
        *out = h;
}

int symbi_agent__cgroup_create(struct symbi_agent__sandbox *sr, struct symbi_err *err)
{
    const struct symbi_sandbox_host *h = symbi_agent_sandbox_host();
    unsigned n = atomic_fetch_add(&run_seq, 1);
    snprintf(sr->cg_dir, sizeof sr->cg_dir, "%.500s/run-%d-%u", h->cgroup_path, (int)getpid(), n);
    if (mkdir(sr->cg_dir, 0755) != 0)
        return symbi_err_set(err, SYMBI_EIO, "cannot create the run's cgroup %s: %s", sr->cg_dir,
                             strerror(errno));
    char path[700], v[32];
    bool ok = true;
    if (sr->sb.memory > 0) {
        snprintf(path, sizeof path, "%s/memory.max", sr->cg_dir);
        snprintf(v, sizeof v, "%lld", (long long)sr->sb.memory);
        ok = write_small(path, v);
        snprintf(path, sizeof path, "%s/memory.swap.max", sr->cg_dir);
        write_small(path, "0"); /* absent without swap accounting */
    }
    if (ok && sr->sb.processes > 0) {
        snprintf(path, sizeof path, "%s/pids.max", sr->cg_dir);
        snprintf(v, sizeof v, "%lld", (long long)sr->sb.processes);
        ok = write_small(path, v);
    }
    snprintf(path, sizeof path, "%s/cgroup.procs", sr->cg_dir);
    if (ok)
        sr->cg_procs_fd = open(path, O_WRONLY | O_CLOEXEC);
    if (!ok || sr->cg_procs_fd < 0) {
        int e = errno;
        rmdir(sr->cg_dir);
        return symbi_err_set(err, SYMBI_EIO, "cannot set up the run's cgroup %s: %s", sr->cg_dir,
                             strerror(e));
    }
    return 0;
}

/* The number after `key ` in a flat-keyed cgroup file, 0 when absent. */
static int64_t event_count(const char *dir, const char *file, const char *key)
{
    char path[700], buf[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (!read_small(path, buf, sizeof buf))
        return 0;
    size_t n = strlen(key);
    for (char *p = buf; p != NULL && *p != '\0'; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, key, n) == 0 && p[n] == ' ')
            return strtoll(p + n + 1, NULL, 10);
    return 0;
}

void symbi_agent__cgroup_destroy(struct symbi_agent__sandbox *sr, int64_t *oom_kills,
                                 int64_t *pids_max)
{
    *oom_kills = event_count(sr->cg_dir, "memory.events", "oom_kill");
    *pids_max = event_count(sr->cg_dir, "pids.events", "max");
    close(sr->cg_procs_fd);
    sr->cg_procs_fd = -1;
    char path[700], buf[4096];
    snprintf(path, sizeof path, "%s/cgroup.kill", sr->cg_dir);
    if (!write_small(path, "1")) {
        /* before Linux 5.14: each process left, one by one */
        snprintf(path, sizeof path, "%s/cgroup.procs", sr->cg_dir);
        if (read_small(path, buf, sizeof buf)) {
            char *p = buf;
            while (*p != '\0') {
                size_t n = strcspn(p, "\n");
                bool last = p[n] == '\0';
                p[n] = '\0';
                int64_t pid;
                if (symbi_parse_i64(p, 1, INT32_MAX, &pid) == 0)
                    kill((pid_t)pid, SIGKILL);
                p += last ? n : n + 1;
            }
        }
    }
    /* a cgroup is removed once its last process is gone (bounded wait) */
    for (int i = 0; i < 200 && rmdir(sr->cg_dir) != 0 && errno == EBUSY; i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
}
