/* cmd_cron_approve.c - `symbi cron approve|deny <run-id> [--as NAME]` (SPEC
 * §8.1, §10): the operator answers a run waiting for approval. The CLI holds
 * the store itself (full trust): the approver is --as, else the OS user. */
#include "cli/cli_out.h"

#include "symbi/config.h"
#include "symbi/policy.h"
#include "symbi/store.h"

#include <getopt.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char symbi_cli_cron_approve_usage[] =
    "usage: symbi cron approve <run-id> [--as NAME]\n"
    "  Approves a run waiting as pending_approval: it is queued and the live\n"
    "  scheduler starts it (its policy is checked again, approval aside).\n"
    "  <run-id> is a run id or a unique prefix of 8+ characters.\n"
    "  --as NAME   the approver (default: the OS user name); when the job's policy\n"
    "              lists approvers, NAME must be one of them\n"
    "  A run past its approval_timeout (default 1h) is denied instead (exit 1).\n";

const char symbi_cli_cron_deny_usage[] =
    "usage: symbi cron deny <run-id> [--as NAME] [--reason TEXT]\n"
    "  Denies a run waiting as pending_approval: it ends `denied` (not a failure:\n"
    "  no retry, no dead letter).\n"
    "  --as NAME       the approver (default: the OS user name; must be listed in the\n"
    "                  job's approvers when it has any)\n"
    "  --reason TEXT   recorded with the denial\n";

/* The OS user name, else $USER, else "cli". */
static const char *os_user(void)
{
    struct passwd *pw = getpwuid(geteuid());
    if (pw != NULL && pw->pw_name != NULL && pw->pw_name[0] != '\0')
        return pw->pw_name;
    const char *u = getenv("USER");
    return u != NULL && u[0] != '\0' ? u : "cli";
}

static int decide(struct symbi_cli *cli, int argc, char **argv, bool approve,
                  const struct symbi_cli_cmd *self)
{
    static const struct option opts[] = {
        {"as", required_argument, NULL, 'a'},
        {"reason", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    const char *who = NULL, *reason = NULL;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'a')
            who = optarg;
        else if (c == 'r' && !approve)
            reason = optarg;
        else
            return symbi_cli_bad_option(self, argc, argv);
    }
    if (argc - optind != 1)
        return symbi_cli_usage(self, argc - optind == 0 ? "which run? give its id"
                                                        : "give one run at a time");
    if (who == NULL)
        who = os_user();
    if (who[0] == '\0' || strlen(who) > 128)
        return symbi_cli_usage(self, "--as needs a name of 1 to 128 characters");
    if (reason != NULL && strlen(reason) > 400)
        return symbi_cli_usage(self, "--reason is limited to 400 characters");
    struct symbi_config cfg;
    int rc = symbi_cli_load_config(cli, &cfg);
    if (rc != 0)
        return rc;
    int64_t timeout = cfg.approval_timeout_ms;
    symbi_config_cleanup(&cfg);
    struct symbi_store *st = NULL;
    if ((rc = symbi_cli_open_store(cli, &st)) != 0)
        return rc;
    struct symbi_run run;
    symbi_run_init(&run);
    struct symbi_err err = {0};
    if (symbi_policy_decide(st, argv[optind], approve, who, reason, timeout, symbi_now_wall_ms(),
                            &run, &err) != 0) {
        rc = err.code == SYMBI_EDENIED || err.code == SYMBI_ESTATE
                 ? symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg)
                 : symbi_cli_store_fail(&err);
    } else if (approve) {
        printf("Approved run %s of job '%s' as %s; it is queued for the scheduler\n", run.id,
               run.job_name != NULL ? run.job_name : "?", who);
    } else {
        printf("Denied run %s of job '%s' as %s\n", run.id,
               run.job_name != NULL ? run.job_name : "?", who);
    }
    symbi_run_cleanup(&run);
    symbi_store_close(st);
    return rc;
}

int symbi_cli_cmd_cron_approve(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct symbi_cli_cmd self = {"approve", NULL, "", symbi_cli_cron_approve_usage};
    return decide(cli, argc, argv, true, &self);
}

int symbi_cli_cmd_cron_deny(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct symbi_cli_cmd self = {"deny", NULL, "", symbi_cli_cron_deny_usage};
    return decide(cli, argc, argv, false, &self);
}
