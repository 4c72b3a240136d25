/* cmd_up.c - `symbi up`: the daemon. Loads the configuration and the agents
 * directory into the store, runs the scheduler (and the HTTP API) until
 * SIGINT or SIGTERM, and reloads both on SIGHUP. */
#include "cli/cli.h"
#include "cli/up_load.h"

#include "symbi/agent.h"
#include "symbi/config.h"
#include "symbi/http.h"
#include "symbi/sched.h"
#include "symbi/store.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct up_opts {
    const char *listen;
    const char *agents;
    const char *environment;
};

/* Loads the configuration with the command-line flags on top. */
static int load_config(struct symbi_cli *cli, const struct up_opts *o, struct symbi_config *cfg)
{
    struct symbi_err err;
    symbi_config_init(cfg);
    if (symbi_config_load(cfg, cli->config_flag, cli->data_dir_flag, &err) != 0) {
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "configuration: %s", err.msg);
        return -1;
    }
    if ((o->environment != NULL && symbi_set_str(&cfg->environment, o->environment) != 0) ||
        (o->listen != NULL && symbi_set_str(&cfg->listen, o->listen) != 0) ||
        (o->agents != NULL && symbi_set_str(&cfg->agents_dir, o->agents) != 0))
        return -1;
    if (cfg->data_dir == NULL) {
        char *dd = symbi_cli_data_dir(cli);
        if (dd == NULL)
            return -1;
        free(cfg->data_dir);
        cfg->data_dir = dd;
    }
    if (cfg->agents_dir == NULL) {
        struct stat st;
        if (stat("agents", &st) == 0 && S_ISDIR(st.st_mode))
            symbi_set_str(&cfg->agents_dir, "agents");
    }
    return 0;
}

/* --store / $SYMBI_STORE win over [store] url, which wins over the data dir. */
static char *store_url(struct symbi_cli *cli, const struct symbi_config *cfg)
{
    const char *env = getenv("SYMBI_STORE");
    if (cli->store_flag == NULL && (env == NULL || *env == '\0') && cfg->store_url != NULL)
        return symbi_config_store_url(cfg); /* ${VAR} expanded at use */
    if (cli->data_dir_flag == NULL && cfg->data_dir != NULL) {
        struct symbi_cli c = *cli;
        c.data_dir_flag = cfg->data_dir;
        return symbi_cli_store_url(&c);
    }
    return symbi_cli_store_url(cli);
}

static int mkdir_p(const char *path)
{
    char *p = symbi_strdup(path);
    if (p == NULL)
        return -1;
    for (char *q = p + 1; *q != '\0'; q++) {
        if (*q == '/') {
            *q = '\0';
            mkdir(p, 0700);
            *q = '/';
        }
    }
    int rc = mkdir(p, 0700) == 0 || errno == EEXIST ? 0 : -1;
    free(p);
    return rc;
}

static char *join(const char *a, const char *b)
{
    struct symbi_buf buf;
    symbi_buf_init(&buf, 0);
    if (symbi_buf_printf(&buf, "%s/%s", a, b) != 0) {
        symbi_buf_cleanup(&buf);
        return NULL;
    }
    return symbi_buf_steal(&buf);
}

/* This host's node name; the data directory's lock makes it ours alone. */
static char *node_name(const char *data_dir)
{
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    uint32_t h = 2166136261u;
    for (const char *p = data_dir; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    if (symbi_buf_printf(&b, "%s-%08x", host, h) != 0) {
        symbi_buf_cleanup(&b);
        return NULL;
    }
    return symbi_buf_steal(&b);
}

/* ---- the HTTP API's view of the scheduler (struct symbi_http_hooks) ---- */

static void hook_wake(void *ud)
{
    symbi_sched_wake(ud);
}

static int hook_stats(void *ud, struct symbi_http_sched_stats *out)
{
    struct symbi_sched_stats st;
    symbi_sched_get_stats(ud, &st);
    out->in_flight = st.in_flight;
    out->queued = st.queued;
    out->lag_s = st.last_lag_ms > 0 ? (double)st.last_lag_ms / 1000.0 : 0.0;
    out->store_writable = st.store_writable;
    out->store_failures = st.store_failures;
    out->store_failing_since = st.store_failing_since;
    out->unwritten = st.unwritten;
    snprintf(out->store_error, sizeof out->store_error, "%s", st.store_error);
    return st.running ? 0 : -1;
}

/* SPEC §6.5: whether this host can apply cfg's [agents] default_sandbox
 * (none is fine); false with err filled. */
static bool default_sandbox_ok(const struct symbi_config *cfg, struct symbi_err *err)
{
    if (cfg->default_sandbox == NULL)
        return true;
    struct symbi_sandbox sb;
    int rc = symbi_agent_sandbox_parse(cfg->default_sandbox, &sb, err);
    if (rc == 0)
        rc = symbi_agent_sandbox_check_host(&sb, err);
    symbi_agent_sandbox_cleanup(&sb);
    return rc == 0;
}

int symbi_cli_cmd_up(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"agents", required_argument, NULL, 'a'},
        {"environment", required_argument, NULL, 'e'},
        {NULL, 0, NULL, 0},
    };
    struct up_opts o = {0};
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            o.listen = optarg;
            break;
        case 'a':
            o.agents = optarg;
            break;
        case 'e':
            o.environment = optarg;
            break;
        default:
            return symbi_cli_usage(&symbi_cli_commands[0], "bad option for 'up'");
        }
    }
    if (optind < argc)
        return symbi_cli_usage(&symbi_cli_commands[0], "unexpected argument '%s'", argv[optind]);

    /* Signals are taken synchronously by sigwait: no handler runs in a
     * random thread's context. Blocked before any thread starts. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct symbi_config cfg;
    if (load_config(cli, &o, &cfg) != 0) {
        symbi_config_cleanup(&cfg);
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "cannot start: bad configuration (see above)");
    }
    int rc = SYMBI_EXIT_ERROR;
    char *logs = NULL, *log_file = NULL, *lock_path = NULL, *url = NULL, *node = NULL;
    int lock_fd = -1;
    struct symbi_store *st = NULL;
    struct symbi_sched *sched = NULL;
    struct symbi_http_server *http = NULL;
    struct symbi_err err;

    logs = join(cfg.data_dir, "logs");
    log_file = logs ? join(logs, "symbi.log") : NULL;
    lock_path = join(cfg.data_dir, "symbi.lock");
    if (logs == NULL || log_file == NULL || lock_path == NULL) {
        symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory");
        goto out;
    }
    if (mkdir_p(cfg.data_dir) != 0 || mkdir_p(logs) != 0) {
        symbi_cli_fail(SYMBI_EXIT_ERROR, "cannot create data directory %s: %s", cfg.data_dir,
                       strerror(errno));
        goto out;
    }
    enum symbi_log_level level = SYMBI_LOG_INFO;
    if (cfg.log_level != NULL)
        symbi_log_level_parse(cfg.log_level, &level);
    struct symbi_log_config lc = {
        .level = level,
        .to_stderr = true,
        .file = log_file,
        .max_file_bytes = cfg.log_max_bytes > 0 ? (size_t)cfg.log_max_bytes : 0,
    };
    if (symbi_log_open(&lc) != 0)
        symbi_log(SYMBI_LOG_WARN, "scheduler", "cannot open the log file %s", log_file);

    /* one daemon per data directory: the node name is then ours alone */
    lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        symbi_cli_fail(SYMBI_EXIT_ERROR, "another `symbi up` is running on %s (%s is locked)",
                       cfg.data_dir, lock_path);
        goto out;
    }
    url = store_url(cli, &cfg);
    node = node_name(cfg.data_dir);
    if (url == NULL || node == NULL) {
        symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory");
        goto out;
    }
    if (symbi_store_open(url, &st, &err) != 0) {
        symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
        goto out;
    }
    symbi_log(SYMBI_LOG_INFO, "scheduler",
              "symbi up version=%s data_dir=%s store=%s agents=%s environment=%s node=%s",
              SYMBI_VERSION, cfg.data_dir, url, cfg.agents_dir ? cfg.agents_dir : "-",
              cfg.environment ? cfg.environment : "development", node);
    /* SPEC §6.5: what this host can do for sandboxes, said once; a default
     * sandbox that cannot be applied stops start-up */
    struct symbi_sandbox_host sbh;
    symbi_agent_sandbox_probe(true, &sbh);
    if (sbh.cgroup)
        symbi_log(SYMBI_LOG_INFO, "scheduler",
                  "sandbox: root=%s cgroup=%s (memory.max and pids.max per limited run)",
                  sbh.root ? "yes" : "no", sbh.cgroup_path);
    else
        symbi_log(SYMBI_LOG_INFO, "scheduler",
                  "sandbox: root=%s cgroup=none (%s): limits by setrlimit only",
                  sbh.root ? "yes" : "no", sbh.why);
    if (!default_sandbox_ok(&cfg, &err)) {
        symbi_cli_fail(SYMBI_EXIT_ERROR, "[agents] default_sandbox: %s", err.msg);
        goto out;
    }
    if (cfg.agents_dir != NULL)
        symbi_cli_up_load_agents(st, cfg.agents_dir, cfg.default_sandbox, symbi_now_wall_ms());

    struct symbi_sched_config sc;
    symbi_cli_run_settings(&cfg, &sc);
    sc.store_url = url;
    sc.node = node;
    /* a key that cannot be used stops `symbi up` before any run starts */
    const char *key = cfg.api_key != NULL ? cfg.api_key : getenv("SYMBI_API_KEY");
    if (symbi_http_check_key(key, &err) != 0) {
        symbi_log(SYMBI_LOG_ERROR, "api", "cannot start the HTTP API: %s", err.msg);
        symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
        goto out;
    }
    if (symbi_sched_new(&sc, &sched, &err) != 0 || symbi_sched_start(sched, &err) != 0) {
        symbi_cli_fail(SYMBI_EXIT_ERROR, "cannot start the scheduler: %s", err.msg);
        goto out;
    }

    /* ==== HTTP API ====================================================
     * The API server starts after the scheduler (its readiness means the
     * scheduler runs): it serves cfg.listen with its own store handles and
     * reaches the scheduler through these hooks (wake after a change or a
     * manual-run request, stats for health). */
    struct symbi_http_hooks hooks = {.wake = hook_wake, .stats = hook_stats, .ud = sched};
    if (symbi_cli_http_start(cli, &cfg, cfg.listen, url, &hooks, &http, &err) != 0) {
        symbi_log(SYMBI_LOG_ERROR, "api", "cannot start the HTTP API: %s", err.msg);
        symbi_sched_stop(sched);
        symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
        goto out;
    }
    /* ==== end of HTTP API ============================================= */
    symbi_log(SYMBI_LOG_INFO, "scheduler",
              "scheduler started node=%s tick_ms=%lld max_concurrent_jobs=%d", node,
              (long long)sc.tick_interval_ms, sc.max_concurrent_jobs);
    symbi_cli_notify_ready(sched); /* systemd: store and API are up */

    int sig = 0;
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        /* reload: a complete new configuration, or none of it */
        struct symbi_config next;
        if (load_config(cli, &o, &next) != 0) {
            symbi_log(SYMBI_LOG_ERROR, "scheduler", "SIGHUP: configuration kept (errors above)");
            symbi_config_cleanup(&next);
            continue;
        }
        if (!default_sandbox_ok(&next, &err)) {
            symbi_log(SYMBI_LOG_ERROR, "scheduler",
                      "SIGHUP: configuration kept: [agents] default_sandbox: %s", err.msg);
            symbi_config_cleanup(&next);
            continue;
        }
        if (next.agents_dir != NULL)
            symbi_cli_up_load_agents(st, next.agents_dir, next.default_sandbox,
                                     symbi_now_wall_ms());
        struct symbi_sched_config nsc;
        symbi_cli_run_settings(&next, &nsc);
        symbi_sched_reconfigure(sched, &nsc);
        symbi_config_cleanup(&cfg);
        cfg = next;
        symbi_log(SYMBI_LOG_INFO, "scheduler", "SIGHUP: configuration and agents reloaded");
    }
    symbi_log(SYMBI_LOG_INFO, "scheduler", "shutting down signal=%s",
              sig == SIGINT ? "SIGINT" : "SIGTERM");
    symbi_cli_notify_stopping();
    symbi_http_stop(http); /* no new requests, then the scheduler */
    http = NULL;
    /* deliveries in flight end with the graceful stop, not after it */
    symbi_cli_delivery_deadline(symbi_now_mono_ms() + cfg.shutdown_timeout_ms);
    symbi_sched_stop(sched);
    symbi_log(SYMBI_LOG_INFO, "scheduler", "stopped");
    rc = SYMBI_EXIT_OK;
out:
    symbi_http_stop(http);
    symbi_sched_free(sched);
    symbi_store_close(st);
    if (lock_fd >= 0)
        close(lock_fd);
    symbi_log_close();
    free(logs);
    free(log_file);
    free(lock_path);
    free(url);
    free(node);
    symbi_config_cleanup(&cfg);
    return rc;
}
