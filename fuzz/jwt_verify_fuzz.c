/* jwt_verify_fuzz.c - libFuzzer target for the AgentPin credential verifier
 * (src/policy/jwt.c): any bytes as a token, or, when the input starts with
 * "S\n", a header line and a payload signed with a real key so the claim
 * checks behind the signature are reached; invariants abort. */
#include "symbi/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOW 1772409600000LL /* 2026-03-02T00:00:00Z: the corpus's iat/exp are around it */

static struct symbi_agentpin *ap;
static char key_dir[64], key_file[300];

static void remove_key(void)
{
    unlink(key_file);
    rmdir(key_dir);
}

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

static void init(void)
{
    snprintf(key_dir, sizeof key_dir, "/tmp/symbi-fuzz-jwt-XXXXXX");
    char *dir = key_dir;
    check(mkdtemp(dir) != NULL, "mkdtemp");
    atexit(remove_key);
    struct symbi_err err = {0};
    check(symbi_agentpin_keygen("k1", dir, "example.com", &err) == 0, "keygen");
    char bundle[300];
    snprintf(key_file, sizeof key_file, "%s/k1.key.pem", dir);
    snprintf(bundle, sizeof bundle, "%s/trust-bundle.json", dir);
    struct symbi_agentpin_config cfg = {
        .domain = "example.com", .trust_bundle = bundle, .clock_skew_ms = -1};
    check(symbi_agentpin_new(&cfg, &ap, &err) == 0, "verifier");
    /* the key stays loaded; the files are not needed by the verifier */
    char p[400];
    static const char *const files[] = {"k1.pub.pem", "agent-identity.json", "trust-bundle.json"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
}

static void verify(const char *tok)
{
    struct symbi_err err = {0};
    struct symbi_agentpin_claims c;
    int rc = symbi_agentpin_verify(ap, tok, "deployer", NOW, &c, &err);
    check(rc == 0 || rc == SYMBI_EDENIED, "result code");
    if (rc == 0) {
        check(strcmp(c.iss, "example.com") == 0, "issuer anchored");
        check(strcmp(c.sub[0] ? c.sub : c.iss, "deployer") == 0, "agent identity");
        check(c.exp + 60000 >= NOW, "not expired");
    } else {
        check(err.msg[0] != '\0', "a reason");
        check(strlen(err.msg) < sizeof err.msg, "bounded reason");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ap == NULL)
        init();
    if (size > 16384)
        size = 16384;
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    if (size >= 2 && buf[0] == 'S' && buf[1] == '\n') {
        char *hdr = buf + 2, *nl = strchr(hdr, '\n');
        if (nl != NULL) {
            *nl = '\0';
            char *tok = NULL;
            bool der = hdr[0] == 'D';
            if (symbi_agentpin_sign(key_file, der ? hdr + 1 : hdr, nl + 1, der, &tok, NULL) == 0) {
                verify(tok);
                free(tok);
            }
        }
    } else {
        verify(buf);
    }
    free(buf);
    return 0;
}
