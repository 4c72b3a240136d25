/* notify.c - the systemd notify protocol for `symbi up` (SPEC §12.1):
 * READY=1, STOPPING=1 and WATCHDOG=1 datagrams to $NOTIFY_SOCKET. */
#include "cli/cli.h"
#include "symbi/sched.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct watchdog {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop, running;
    int64_t every_ms;
    struct symbi_sched *sched;
};

static struct watchdog wd = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Sends msg as one datagram; 0 when NOTIFY_SOCKET is unset. An abstract
 * socket is written "@name"; a path must be absolute. */
int symbi_cli_notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == '\0')
        return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof sa.sun_path)
        return SYMBI_EINVAL;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return SYMBI_EIO;
    ssize_t w = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
    int e = errno;
    close(fd);
    if (w < 0) {
        symbi_log(SYMBI_LOG_WARN, "scheduler", "notify socket %s: %s", path, strerror(e));
        return SYMBI_EIO;
    }
    return 0;
}

static void *watchdog_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&wd.lock);
    while (!wd.stop) {
        struct timespec ts;
        symbi_mono_deadline(wd.every_ms, &ts);
        if (pthread_cond_timedwait(&wd.cond, &wd.lock, &ts) == 0 || wd.stop)
            continue;
        pthread_mutex_unlock(&wd.lock);
        /* a scheduler loop that stopped claiming gets no ping: systemd restarts it */
        struct symbi_sched_stats st = {.running = true};
        if (wd.sched != NULL)
            symbi_sched_get_stats(wd.sched, &st);
        if (st.running)
            (void)symbi_cli_notify("WATCHDOG=1");
        pthread_mutex_lock(&wd.lock);
    }
    pthread_mutex_unlock(&wd.lock);
    return NULL;
}

void symbi_cli_notify_ready(struct symbi_sched *sched)
{
    const char *sock = getenv("NOTIFY_SOCKET");
    if (sock == NULL || sock[0] == '\0')
        return;
    (void)symbi_cli_notify("READY=1\nSTATUS=scheduler and API up");
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    int64_t us, p;
    if (usec == NULL || symbi_parse_i64(usec, 1, INT64_MAX / 1000, &us) != 0)
        return;
    if (pid != NULL && (symbi_parse_i64(pid, 1, INT64_MAX, &p) != 0 || p != (int64_t)getpid()))
        return; /* the watchdog is someone else's */
    wd.every_ms = us / 2000 > 0 ? us / 2000 : 1;
    wd.sched = sched;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wd.cond, &ca);
    pthread_condattr_destroy(&ca);
    wd.stop = false;
    wd.running = pthread_create(&wd.thread, NULL, watchdog_main, NULL) == 0;
    if (wd.running)
        symbi_log(SYMBI_LOG_INFO, "scheduler", "systemd watchdog every_ms=%lld",
                  (long long)wd.every_ms);
}

void symbi_cli_notify_stopping(void)
{
    if (wd.running) {
        pthread_mutex_lock(&wd.lock);
        wd.stop = true;
        pthread_cond_signal(&wd.cond);
        pthread_mutex_unlock(&wd.lock);
        pthread_join(wd.thread, NULL);
        pthread_cond_destroy(&wd.cond);
        wd.running = false;
    }
    (void)symbi_cli_notify("STOPPING=1");
}
