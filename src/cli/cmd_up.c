/* cmd_up.c - `symbi up`: the daemon. Parses its options, opens the data
 * directory and log, and runs until SIGINT or SIGTERM. */
#include "cli/cli.h"
#include "symbi/http.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int symbi_cli_cmd_up(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"agents", required_argument, NULL, 'a'},
        {"environment", required_argument, NULL, 'e'},
        {NULL, 0, NULL, 0},
    };
    const char *listen_addr = "127.0.0.1:8080", *agents = NULL, *environment = "development";
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            listen_addr = optarg;
            break;
        case 'a':
            agents = optarg;
            break;
        case 'e':
            environment = optarg;
            break;
        default:
            return symbi_cli_usage(&symbi_cli_commands[0], "bad option for 'up'");
        }
    }
    if (optind < argc)
        return symbi_cli_usage(&symbi_cli_commands[0], "unexpected argument '%s'", argv[optind]);

    char *data_dir = symbi_cli_data_dir(cli);
    if (data_dir == NULL)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory");
    if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
        int rc = symbi_cli_fail(SYMBI_EXIT_ERROR, "cannot create data directory %s: %s", data_dir,
                                strerror(errno));
        free(data_dir);
        return rc;
    }

    /* Signals are taken synchronously by sigwait: no handler runs in a
     * random thread's context. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    struct symbi_log_config lc = {.level = SYMBI_LOG_INFO, .to_stderr = true};
    symbi_log_open(&lc);
    symbi_log(SYMBI_LOG_INFO, "scheduler",
              "symbi up version=%s data_dir=%s agents=%s environment=%s listen=%s", SYMBI_VERSION,
              data_dir, agents ? agents : "-", environment, listen_addr);
    /* the HTTP API */
    struct symbi_http_server *http = NULL;
    struct symbi_err herr = {0};
    if (symbi_cli_http_start(cli, NULL, listen_addr, NULL, NULL, &http, &herr) != 0) {
        symbi_log(SYMBI_LOG_ERROR, "api", "cannot start the HTTP API: %s", herr.msg);
        symbi_log_close();
        free(data_dir);
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", herr.msg);
    }
    int sig = 0;
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            symbi_log(SYMBI_LOG_INFO, "scheduler", "SIGHUP: nothing to reload yet");
            continue;
        }
        break;
    }
    symbi_log(SYMBI_LOG_INFO, "scheduler", "shutting down signal=%s",
              sig == SIGINT ? "SIGINT" : "SIGTERM");
    symbi_http_stop(http);
    symbi_log_close();
    free(data_dir);
    return SYMBI_EXIT_OK;
}
