/* cmd_agentpin.c - `symbi agentpin keygen|issue|verify` (SPEC §8.2, §10):
 * the operator's tools for AgentPin keys and credentials, and the verifier
 * built from [agentpin] that `symbi up` and `verify` share. */
#include "cli/cli.h"

#include "symbi/config.h"
#include "symbi/fetch.h"
#include "symbi/policy.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const struct symbi_cli_cmd agentpin_commands[];

int symbi_cli_agentpin_new(const struct symbi_config *cfg, struct symbi_agentpin **out,
                           struct symbi_err *err)
{
    char *domain = symbi_config_expand(cfg->agentpin_domain);
    char *bundle = symbi_config_expand(cfg->agentpin_trust_bundle);
    char *dir = symbi_config_expand(cfg->agentpin_keys_dir);
    char *ca = symbi_config_expand(cfg->agentpin_ca_file);
    char *resolve = symbi_config_expand(cfg->agentpin_discovery_resolve);
    struct symbi_agentpin_config ac = {
        .domain = domain,
        .trust_bundle = bundle,
        .keys_dir = dir,
        .ca_file = ca,
        .discovery_resolve = resolve,
        .cache_ttl_ms = cfg->agentpin_cache_ttl_ms,
        .clock_skew_ms = cfg->agentpin_clock_skew_ms,
        .fetch = symbi_fetch_https,
    };
    int rc = symbi_agentpin_new(&ac, out, err);
    free(domain);
    free(bundle);
    free(dir);
    free(ca);
    free(resolve);
    return rc;
}

static int cmd_keygen(struct symbi_cli *cli, int argc, char **argv)
{
    (void)cli;
    static const struct option opts[] = {
        {"kid", required_argument, NULL, 'k'},
        {"out", required_argument, NULL, 'o'},
        {"domain", required_argument, NULL, 'd'},
        {NULL, 0, NULL, 0},
    };
    const char *kid = NULL, *out = NULL, *domain = "example.com";
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'k')
            kid = optarg;
        else if (c == 'o')
            out = optarg;
        else if (c == 'd')
            domain = optarg;
        else
            return symbi_cli_usage(&agentpin_commands[0], "unknown option '%s'", argv[optind - 1]);
    }
    if (kid == NULL || out == NULL || optind != argc)
        return symbi_cli_usage(&agentpin_commands[0], "--kid and --out are required");
    struct symbi_err err = {0};
    if (symbi_agentpin_keygen(kid, out, domain, &err) != 0)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
    printf("Wrote %s/%s.key.pem (private, keep it secret), %s/%s.pub.pem,\n"
           "%s/agent-identity.json (serve at https://%s/.well-known/agent-identity.json)\n"
           "and %s/trust-bundle.json (for [agentpin] trust_bundle)\n",
           out, kid, out, kid, out, domain, out);
    return SYMBI_EXIT_OK;
}

/* Splits a,b,c in place into v (at most cap). */
static size_t split(char *s, const char **v, size_t cap)
{
    size_t n = 0;
    while (s != NULL && *s != '\0' && n < cap) {
        char *c = strchr(s, ',');
        if (c != NULL)
            *c++ = '\0';
        if (*s != '\0')
            v[n++] = s;
        s = c;
    }
    return n;
}

static int cmd_issue(struct symbi_cli *cli, int argc, char **argv)
{
    (void)cli;
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'K'}, {"kid", required_argument, NULL, 'k'},
        {"iss", required_argument, NULL, 'i'}, {"sub", required_argument, NULL, 's'},
        {"ttl", required_argument, NULL, 't'}, {"capabilities", required_argument, NULL, 'c'},
        {"der", no_argument, NULL, 'D'},       {NULL, 0, NULL, 0},
    };
    struct symbi_agentpin_issue in = {0};
    const char *caps[64];
    char *capbuf = NULL;
    in.ttl_ms = 3600000;
    optind = 0;
    opterr = 0;
    int c, rc = SYMBI_EXIT_OK;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1 && rc == 0) {
        switch (c) {
        case 'K':
            in.key_file = optarg;
            break;
        case 'k':
            in.kid = optarg;
            break;
        case 'i':
            in.iss = optarg;
            break;
        case 's':
            in.sub = optarg;
            break;
        case 't':
            if (symbi_parse_duration_ms(optarg, &in.ttl_ms) != 0 || in.ttl_ms < 1000)
                rc = symbi_cli_usage(&agentpin_commands[1], "--ttl: a duration such as 1h");
            break;
        case 'c':
            free(capbuf);
            capbuf = symbi_strdup(optarg);
            in.n_capabilities = split(capbuf, caps, SYMBI_ARRAY_LEN(caps));
            in.capabilities = caps;
            break;
        case 'D':
            in.der = true;
            break;
        default:
            rc = symbi_cli_usage(&agentpin_commands[1], "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (rc == 0 && (in.key_file == NULL || in.kid == NULL || in.iss == NULL || optind != argc))
        rc = symbi_cli_usage(&agentpin_commands[1], "--key, --kid and --iss are required");
    char *tok = NULL;
    struct symbi_err err = {0};
    in.now = symbi_now_wall_ms();
    if (rc == 0 && symbi_agentpin_issue(&in, &tok, &err) != 0)
        rc = symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
    if (rc == 0)
        printf("%s\n", tok);
    free(tok);
    free(capbuf);
    return rc;
}

static int cmd_verify(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"agent", required_argument, NULL, 'a'},
        {NULL, 0, NULL, 0},
    };
    const char *agent = NULL;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'a')
            return symbi_cli_usage(&agentpin_commands[2], "unknown option '%s'", argv[optind - 1]);
        agent = optarg;
    }
    if (argc - optind != 1)
        return symbi_cli_usage(&agentpin_commands[2], "give one TOKEN");
    struct symbi_config cfg;
    int rc = symbi_cli_load_config(cli, &cfg);
    if (rc != 0)
        return rc;
    struct symbi_agentpin *ap = NULL;
    struct symbi_err err = {0};
    if (symbi_cli_agentpin_new(&cfg, &ap, &err) != 0) {
        symbi_config_cleanup(&cfg);
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "[agentpin]: %s", err.msg);
    }
    symbi_config_cleanup(&cfg);
    char *tok = symbi_config_expand(argv[optind]);
    struct symbi_agentpin_claims cl;
    if (tok == NULL || symbi_agentpin_verify(ap, tok, agent, symbi_now_wall_ms(), &cl, &err) != 0) {
        rc = symbi_cli_fail(SYMBI_EXIT_ERROR, "credential refused: %s",
                            tok == NULL ? "out of memory" : err.msg);
    } else {
        char exp[SYMBI_TIME_STRLEN];
        printf("valid: iss=%s sub=%s kid=%s exp=%s signature=%s key=%s\n", cl.iss,
               cl.sub[0] != '\0' ? cl.sub : "-", cl.kid, symbi_time_fmt(cl.exp, exp),
               cl.der ? "der" : "raw", cl.discovered ? "discovered" : "local");
    }
    free(tok);
    symbi_agentpin_free(ap);
    return rc;
}

static const struct symbi_cli_cmd agentpin_commands[] = {
    {"keygen", cmd_keygen, "make a P-256 key pair, its discovery document and trust bundle",
     "usage: symbi agentpin keygen --kid K --out DIR [--domain DOMAIN]\n"
     "  Writes DIR/K.key.pem (private, mode 0600), DIR/K.pub.pem, DIR/agent-identity.json\n"
     "  (the discovery document for DOMAIN, default example.com) and DIR/trust-bundle.json.\n"},
    {"issue", cmd_issue, "sign an AgentPin credential (ES256 JWT)",
     "usage: symbi agentpin issue --key F --kid K --iss DOMAIN [--sub AGENT] [--ttl 1h]\n"
     "                            [--capabilities a,b] [--der]\n"
     "  Prints a credential for agent_pin_jwt, valid from now for --ttl (default 1h).\n"
     "  --der writes a DER signature instead of raw r||s (both are accepted).\n"},
    {"verify", cmd_verify, "verify a credential with the [agentpin] configuration",
     "usage: symbi agentpin verify TOKEN [--agent A]\n"
     "  Verifies TOKEN (or ${VAR}) as a run would: keys from [agentpin] trust_bundle or\n"
     "  keys_dir, else discovery for [agentpin] domain. Exit 0 and the claims when\n"
     "  valid; exit 1 with the reason when refused.\n"},
};

int symbi_cli_cmd_agentpin(struct symbi_cli *cli, int argc, char **argv)
{
    return symbi_cli_dispatch(cli, agentpin_commands, SYMBI_ARRAY_LEN(agentpin_commands),
                              "symbi agentpin", argc - 1, argv + 1);
}
