/* test_policy_agentpin.c - the AgentPin verifier under attack (SPEC §8.2,
 * src/policy/jwt.c, keys.c): every hostile credential refused with its
 * reason, valid raw and DER signatures accepted, clock skew boundaries,
 * the discovery cache and key pinning with a fake fetcher, and the gate
 * hook's Deny with AgentPinVerificationFailed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "policy/policy_int.h"
#include "symbi/exec.h"

#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOW   1772409600000LL /* 2026-03-02T00:00:00Z */
#define NOW_S 1772409600LL

static char dir[256], dir2[256];
static char key1[300], key2[300], bundle[300];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/symbi-ap-XXXXXX");
    snprintf(dir2, sizeof dir2, "/tmp/symbi-ap2-XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_non_null(mkdtemp(dir2));
    struct symbi_err err = {0};
    assert_int_equal(symbi_agentpin_keygen("k1", dir, "example.com", &err), 0);
    assert_int_equal(symbi_agentpin_keygen("k1", dir2, "example.com", &err), 0);
    snprintf(key1, sizeof key1, "%s/k1.key.pem", dir);
    snprintf(key2, sizeof key2, "%s/k1.key.pem", dir2);
    snprintf(bundle, sizeof bundle, "%s/trust-bundle.json", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    const char *files[] = {"k1.key.pem", "k1.pub.pem", "agent-identity.json", "trust-bundle.json"};
    char p[400];
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(files); i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
        snprintf(p, sizeof p, "%s/%s", dir2, files[i]);
        unlink(p);
    }
    rmdir(dir);
    rmdir(dir2);
    return 0;
}

static struct symbi_agentpin *verifier(void)
{
    struct symbi_agentpin_config cfg = {
        .domain = "example.com", .trust_bundle = bundle, .clock_skew_ms = -1};
    struct symbi_agentpin *ap = NULL;
    struct symbi_err err = {0};
    if (symbi_agentpin_new(&cfg, &ap, &err) != 0)
        fail_msg("verifier: %s", err.msg);
    return ap;
}

#define HDR "{\"alg\":\"ES256\",\"typ\":\"agentpin-credential+jwt\",\"kid\":\"k1\"}"

static char *claims(const char *iss, const char *sub, int64_t iat, int64_t exp, const char *extra)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "{\"iss\":\"%s\"%s%s%s,\"iat\":%lld,\"exp\":%lld%s}", iss,
             sub ? ",\"sub\":\"" : "", sub ? sub : "", sub ? "\"" : "", (long long)iat,
             (long long)exp, extra ? extra : "");
    return buf;
}

#define GOOD claims("example.com", "deployer", NOW_S - 10, NOW_S + 3600, NULL)

static char *sign_with(const char *key, const char *hdr, const char *payload, bool der)
{
    char *tok = NULL;
    struct symbi_err err = {0};
    if (symbi_agentpin_sign(key, hdr, payload, der, &tok, &err) != 0)
        fail_msg("sign: %s", err.msg);
    return tok;
}

static char *b64(const void *p, size_t n)
{
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    assert_int_equal(ap_b64url_encode(&b, p, n), 0);
    return symbi_buf_steal(&b);
}

/* header.payload.signature with an arbitrary signature */
static char *assemble(const char *hdr, const char *payload, const unsigned char *sig, size_t n)
{
    char *h = b64(hdr, strlen(hdr)), *p = b64(payload, strlen(payload)), *s = b64(sig, n);
    size_t len = strlen(h) + strlen(p) + strlen(s) + 3;
    char *t = malloc(len);
    snprintf(t, len, "%s.%s.%s", h, p, s);
    free(h);
    free(p);
    free(s);
    return t;
}

static void expect_refused(struct symbi_agentpin *ap, const char *tok, const char *agent,
                           const char *why, const char *name)
{
    struct symbi_err err = {0};
    int rc = symbi_agentpin_verify(ap, tok, agent, NOW, NULL, &err);
    if (rc != SYMBI_EDENIED)
        fail_msg("%s: accepted (rc %d)", name, rc);
    if (strstr(err.msg, why) == NULL)
        fail_msg("%s: reason \"%s\" lacks \"%s\"", name, err.msg, why);
}

static void test_valid_raw_and_der(void **state)
{
    (void)state;
    struct symbi_agentpin *ap = verifier();
    for (int der = 0; der < 2; der++) {
        char *tok = sign_with(key1, HDR, GOOD, der);
        struct symbi_agentpin_claims c;
        struct symbi_err err = {0};
        if (symbi_agentpin_verify(ap, tok, "deployer", NOW, &c, &err) != 0)
            fail_msg("valid %s: %s", der ? "DER" : "raw", err.msg);
        assert_int_equal(c.der, der);
        assert_string_equal(c.iss, "example.com");
        assert_string_equal(c.sub, "deployer");
        assert_string_equal(c.kid, "k1");
        assert_false(c.discovered);
        free(tok);
    }
    /* issue: the operator's tool makes a valid one; without sub, iss names the agent */
    struct symbi_agentpin_issue in = {key1, "k1", "example.com", NULL, NULL,
                                      0,    NOW,  3600000,       false};
    char *tok = NULL;
    assert_int_equal(symbi_agentpin_issue(&in, &tok, NULL), 0);
    assert_int_equal(symbi_agentpin_verify(ap, tok, "example.com", NOW, NULL, NULL), 0);
    expect_refused(ap, tok, "deployer", "names agent \"example.com\"", "iss as agent");
    free(tok);
    symbi_agentpin_free(ap);
}

static void test_attacks(void **state)
{
    (void)state;
    struct symbi_agentpin *ap = verifier();
    char *valid = sign_with(key1, HDR, GOOD, false);
    char *t;

    /* alg none, signed or not */
    t = assemble("{\"alg\":\"none\",\"kid\":\"k1\"}", GOOD, (const unsigned char *)"", 0);
    expect_refused(ap, t, "deployer", "algorithm \"none\" refused", "alg none");
    free(t);
    t = assemble("{\"alg\":\"none\",\"kid\":\"k1\"}", GOOD, (const unsigned char *)"x", 1);
    expect_refused(ap, t, "deployer", "algorithm \"none\" refused", "alg none with signature");
    free(t);
    /* HS256 keyed with the public key's bytes (the classic confusion) */
    {
        char pub[400], pem[1024];
        snprintf(pub, sizeof pub, "%s/k1.pub.pem", dir);
        FILE *f = fopen(pub, "r");
        size_t n = fread(pem, 1, sizeof pem, f);
        fclose(f);
        const char *hs = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}";
        char *h = b64(hs, strlen(hs)), *p = b64(GOOD, strlen(GOOD));
        char input[2048];
        snprintf(input, sizeof input, "%s.%s", h, p);
        unsigned char mac[32];
        unsigned int ml = 0;
        HMAC(EVP_sha256(), pem, (int)n, (unsigned char *)input, strlen(input), mac, &ml);
        t = assemble(hs, GOOD, mac, ml);
        expect_refused(ap, t, "deployer", "algorithm \"HS256\" refused", "HS256");
        free(t);
        free(h);
        free(p);
    }
    t = sign_with(key1, "{\"alg\":\"ES384\",\"kid\":\"k1\"}", GOOD, false);
    expect_refused(ap, t, "deployer", "algorithm \"ES384\" refused", "ES384");
    free(t);
    t = sign_with(key1, "{\"alg\":\"es256\",\"kid\":\"k1\"}", GOOD, false);
    expect_refused(ap, t, "deployer", "refused", "alg case");
    free(t);
    t = sign_with(key1, "{\"kid\":\"k1\"}", GOOD, false);
    expect_refused(ap, t, "deployer", "no alg", "no alg");
    free(t);
    /* a flipped signature bit, everywhere in r and s */
    {
        char *dot = strrchr(valid, '.');
        unsigned char sig[64];
        size_t n;
        assert_int_equal(ap_b64url_decode(dot + 1, strlen(dot + 1), sig, 64, &n), 0);
        for (int bit = 0; bit < 512; bit += 37) {
            sig[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            char *s = b64(sig, 64);
            size_t len = (size_t)(dot - valid) + strlen(s) + 2;
            t = malloc(len);
            snprintf(t, len, "%.*s.%s", (int)(dot - valid), valid, s);
            expect_refused(ap, t, "deployer", "signature does not verify", "flipped bit");
            free(t);
            free(s);
            sig[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        }
    }
    t = sign_with(key2, HDR, GOOD, false); /* another key, same kid */
    expect_refused(ap, t, "deployer", "signature does not verify", "other key");
    free(t);
    t = sign_with(key1, "{\"alg\":\"ES256\",\"kid\":\"k9\"}", GOOD, false);
    expect_refused(ap, t, "deployer", "unknown key id \"k9\"", "unknown kid");
    free(t);
    t = sign_with(key1, "{\"alg\":\"ES256\"}", GOOD, false);
    expect_refused(ap, t, "deployer", "no usable kid", "no kid");
    free(t);
    t = sign_with(key1, HDR, claims("evil.example", "deployer", NOW_S, NOW_S + 60, NULL), false);
    expect_refused(ap, t, "deployer", "issuer \"evil.example\" is not the expected domain",
                   "wrong iss");
    free(t);
    t = sign_with(key1, HDR, claims("example.com", "intruder", NOW_S, NOW_S + 60, NULL), false);
    expect_refused(ap, t, "deployer", "names agent \"intruder\", not \"deployer\"", "wrong agent");
    free(t);
    t = sign_with(key1, HDR, claims("example.com", "deployer", NOW_S - 7200, NOW_S - 61, NULL),
                  false);
    expect_refused(ap, t, "deployer", "expired at", "expired");
    free(t);
    t = sign_with(key1, HDR,
                  claims("example.com", "deployer", NOW_S, NOW_S + 600, ",\"nbf\":1772409661"),
                  false);
    expect_refused(ap, t, "deployer", "not valid before", "nbf future");
    free(t);
    t = sign_with(key1, HDR, claims("example.com", "deployer", NOW_S + 61, NOW_S + 600, NULL),
                  false);
    expect_refused(ap, t, "deployer", "issued in the future", "iat future");
    free(t);
    /* truncated anywhere */
    for (size_t cut = 1; cut < strlen(valid); cut += 7) {
        char *tr = symbi_strndup(valid, strlen(valid) - cut);
        expect_refused(ap, tr, "deployer", "", "truncated");
        free(tr);
    }
    /* 100 KiB */
    {
        size_t n = 100 * 1024;
        char *big = malloc(n + 1);
        memset(big, 'A', n);
        memcpy(big, valid, strlen(valid));
        big[n] = '\0';
        expect_refused(ap, big, "deployer", "longer than 8192 bytes", "100 KiB");
        free(big);
    }
    /* non-base64url characters, padding, whitespace */
    {
        static const char bad[] = {'+', '/', '=', ' ', '\n', '*', (char)0xc3};
        for (size_t i = 0; i < sizeof bad; i++) {
            char *m = symbi_strdup(valid);
            m[5] = bad[i];
            expect_refused(ap, m, "deployer", "not strict base64url", "bad character");
            m[5] = valid[5];
            char *dot = strchr(m, '.');
            dot[3] = bad[i];
            expect_refused(ap, m, "deployer", "base64url", "bad character in payload");
            free(m);
        }
    }
    /* headers that are not JSON objects */
    static const char *const not_obj[] = {"[\"ES256\"]", "\"ES256\"", "42",
                                          "null",        "{\"alg\":", "{\"alg\":\"ES256\"} x"};
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(not_obj); i++) {
        t = sign_with(key1, not_obj[i], GOOD, false);
        expect_refused(ap, t, "deployer", "header is not", "header not an object");
        free(t);
    }
    /* duplicate keys, both orders, in the header and the payload */
    t = sign_with(key1, "{\"alg\":\"ES256\",\"alg\":\"none\",\"kid\":\"k1\"}", GOOD, false);
    expect_refused(ap, t, "deployer", "duplicate", "duplicate alg");
    free(t);
    t = sign_with(key1, "{\"alg\":\"none\",\"alg\":\"ES256\",\"kid\":\"k1\"}", GOOD, false);
    expect_refused(ap, t, "deployer", "duplicate", "duplicate alg 2");
    free(t);
    t = sign_with(
        key1, HDR,
        "{\"iss\":\"example.com\",\"sub\":\"deployer\",\"sub\":\"x\",\"iat\":1,\"exp\":9999999999}",
        false);
    expect_refused(ap, t, "deployer", "duplicate", "duplicate sub");
    free(t);
    /* structure */
    expect_refused(ap, "", "deployer", "no credential", "empty");
    expect_refused(ap, "a.b", "deployer", "not a compact JWS", "two parts");
    expect_refused(ap, "a.b.c.d", "deployer", "not a compact JWS", "four parts");
    expect_refused(ap, "..", "deployer", "not a compact JWS", "empty parts");
    /* claims of the wrong type */
    t = sign_with(key1, HDR, "{\"iss\":\"example.com\",\"iat\":\"now\",\"exp\":9999999999}", false);
    expect_refused(ap, t, NULL, "iat", "iat string");
    free(t);
    t = sign_with(key1, HDR, "{\"iss\":\"example.com\",\"iat\":1}", false);
    expect_refused(ap, t, NULL, "exp", "no exp");
    free(t);
    t = sign_with(key1, HDR, "{\"iss\":7,\"iat\":1,\"exp\":9999999999}", false);
    expect_refused(ap, t, NULL, "iss", "iss number");
    free(t);
    t = sign_with(key1, "{\"alg\":\"ES256\",\"kid\":\"k1\",\"crit\":[\"b64\"]}", GOOD, false);
    expect_refused(ap, t, NULL, "crit", "crit");
    free(t);
    free(valid);
    symbi_agentpin_free(ap);
}

static void test_der_strictness(void **state)
{
    (void)state;
    struct symbi_agentpin *ap = verifier();
    char *tok = sign_with(key1, HDR, GOOD, true);
    char *dot = strrchr(tok, '.');
    unsigned char sig[80];
    size_t n;
    assert_int_equal(ap_b64url_decode(dot + 1, strlen(dot + 1), sig, sizeof sig, &n), 0);
    assert_int_equal(sig[0], 0x30);
    /* trailing garbage after the DER sequence */
    sig[n] = 0;
    char *h = symbi_strndup(tok, (size_t)(dot - tok));
    char *s = b64(sig, n + 1);
    size_t len = strlen(h) + strlen(s) + 2;
    char *t = malloc(len);
    snprintf(t, len, "%s.%s", h, s);
    expect_refused(ap, t, "deployer", "neither raw r||s nor strict DER", "DER trailing byte");
    free(t);
    free(s);
    free(h);
    free(tok);
    symbi_agentpin_free(ap);
}

static void test_skew_boundaries(void **state)
{
    (void)state;
    struct symbi_agentpin *ap = verifier();
    struct {
        int64_t iat, exp, nbf;
        bool ok;
    } rows[] = {
        {NOW_S - 100, NOW_S - 60, 0, true},  /* expired exactly skew ago */
        {NOW_S - 100, NOW_S - 61, 0, false}, /* a second more */
        {NOW_S + 60, NOW_S + 100, 0, true},  /* iat exactly skew ahead */
        {NOW_S + 61, NOW_S + 100, 0, false},     {NOW_S, NOW_S + 100, NOW_S + 60, true},
        {NOW_S, NOW_S + 100, NOW_S + 61, false},
    };
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(rows); i++) {
        char extra[64] = "";
        if (rows[i].nbf != 0)
            snprintf(extra, sizeof extra, ",\"nbf\":%lld", (long long)rows[i].nbf);
        char *t = sign_with(
            key1, HDR, claims("example.com", "deployer", rows[i].iat, rows[i].exp, extra), false);
        int rc = symbi_agentpin_verify(ap, t, "deployer", NOW, NULL, NULL);
        if ((rc == 0) != rows[i].ok)
            fail_msg("skew row %zu: rc %d", i, rc);
        free(t);
    }
    symbi_agentpin_free(ap);
}

/* ---- discovery with a fake fetcher ---- */
struct fake_fetch {
    int calls;
    const char *doc_path; /* served file, NULL: fail */
    char last_url[400];
};

static int fake_fetch(void *ud, const char *url, const char *ca, const char *resolve, size_t max,
                      char **body, size_t *len, struct symbi_err *err)
{
    (void)ca;
    (void)resolve;
    struct fake_fetch *f = ud;
    f->calls++;
    snprintf(f->last_url, sizeof f->last_url, "%s", url);
    if (f->doc_path == NULL)
        return symbi_err_set(err, SYMBI_EIO, "connection refused");
    FILE *fp = fopen(f->doc_path, "r");
    char *b = calloc(1, max + 1);
    *len = fread(b, 1, max, fp);
    fclose(fp);
    *body = b;
    return 0;
}

static void test_discovery_cache_and_pin(void **state)
{
    (void)state;
    char doc1[400], doc2[400];
    snprintf(doc1, sizeof doc1, "%s/agent-identity.json", dir);
    snprintf(doc2, sizeof doc2, "%s/agent-identity.json", dir2);
    struct fake_fetch ff = {0, doc1, ""};
    struct symbi_agentpin_config cfg = {.domain = "example.com",
                                        .cache_ttl_ms = 60000,
                                        .clock_skew_ms = -1,
                                        .fetch = fake_fetch,
                                        .fetch_ud = &ff};
    struct symbi_agentpin *ap = NULL;
    assert_int_equal(symbi_agentpin_new(&cfg, &ap, NULL), 0);
    char *tok1 = sign_with(key1, HDR, GOOD, false);
    char *tok2 = sign_with(key2, HDR, GOOD, false);
    struct symbi_agentpin_claims c;
    struct symbi_err err = {0};
    if (symbi_agentpin_verify(ap, tok1, "deployer", NOW, &c, &err) != 0)
        fail_msg("discovered: %s", err.msg);
    assert_true(c.discovered);
    assert_string_equal(ff.last_url, "https://example.com/.well-known/agent-identity.json");
    /* cached: no second fetch within the TTL */
    assert_int_equal(symbi_agentpin_verify(ap, tok1, "deployer", NOW + 59999, NULL, NULL), 0);
    assert_int_equal(ff.calls, 1);
    /* after the TTL it is fetched again; the same key still verifies */
    assert_int_equal(symbi_agentpin_verify(ap, tok1, "deployer", NOW + 60000, NULL, NULL), 0);
    assert_int_equal(ff.calls, 2);
    /* the domain now serves another key for k1: refused, pinned */
    ff.doc_path = doc2;
    struct symbi_err e2 = {0};
    assert_int_equal(symbi_agentpin_verify(ap, tok2, "deployer", NOW + 120000, NULL, &e2),
                     SYMBI_EDENIED);
    assert_non_null(strstr(e2.msg, "changed since it was pinned"));
    /* and the old key is not trusted either while the domain serves the change */
    assert_int_equal(symbi_agentpin_verify(ap, tok1, "deployer", NOW + 120001, NULL, NULL),
                     SYMBI_EDENIED);
    assert_int_equal(ff.calls, 3); /* the refusal is cached too */
    /* the domain goes back to the pinned key: accepted again after the TTL */
    ff.doc_path = doc1;
    assert_int_equal(symbi_agentpin_verify(ap, tok1, "deployer", NOW + 180001, NULL, NULL), 0);
    /* a fetch failure refuses (fails closed) */
    ff.doc_path = NULL;
    memset(&e2, 0, sizeof e2);
    assert_int_equal(symbi_agentpin_verify(ap, tok1, "deployer", NOW + 240002, NULL, &e2),
                     SYMBI_EDENIED);
    assert_non_null(strstr(e2.msg, "connection refused"));
    /* only the configured domain is ever discovered */
    int before = ff.calls;
    char *evil =
        sign_with(key1, HDR, claims("evil.example", "deployer", NOW_S, NOW_S + 60, NULL), false);
    assert_int_equal(symbi_agentpin_verify(ap, evil, "deployer", NOW, NULL, NULL), SYMBI_EDENIED);
    assert_int_equal(ff.calls, before);
    free(evil);
    free(tok1);
    free(tok2);
    symbi_agentpin_free(ap);
}

/* A domain with local keys is never discovered: its unknown kid is refused. */
static void test_local_domain_not_discovered(void **state)
{
    (void)state;
    struct fake_fetch ff = {0, NULL, ""};
    struct symbi_agentpin_config cfg = {.domain = "example.com",
                                        .trust_bundle = bundle,
                                        .clock_skew_ms = -1,
                                        .fetch = fake_fetch,
                                        .fetch_ud = &ff};
    struct symbi_agentpin *ap = NULL;
    assert_int_equal(symbi_agentpin_new(&cfg, &ap, NULL), 0);
    char *t = sign_with(key1, "{\"alg\":\"ES256\",\"kid\":\"k9\"}", GOOD, false);
    expect_refused(ap, t, "deployer", "unknown key id \"k9\"", "local domain");
    assert_int_equal(ff.calls, 0);
    free(t);
    symbi_agentpin_free(ap);
}

static void test_discovery_entity_mismatch(void **state)
{
    (void)state;
    char doc[400];
    snprintf(doc, sizeof doc, "%s/agent-identity.json", dir);
    struct fake_fetch ff = {0, doc, ""};
    struct symbi_agentpin_config cfg = {
        .domain = "other.example", .clock_skew_ms = -1, .fetch = fake_fetch, .fetch_ud = &ff};
    struct symbi_agentpin *ap = NULL;
    assert_int_equal(symbi_agentpin_new(&cfg, &ap, NULL), 0);
    char *tok =
        sign_with(key1, HDR, claims("other.example", "deployer", NOW_S, NOW_S + 60, NULL), false);
    struct symbi_err err = {0};
    assert_int_equal(symbi_agentpin_verify(ap, tok, "deployer", NOW, NULL, &err), SYMBI_EDENIED);
    assert_non_null(strstr(err.msg, "names entity example.com"));
    free(tok);
    symbi_agentpin_free(ap);
}

static void test_bad_bundles(void **state)
{
    (void)state;
    char p[400];
    snprintf(p, sizeof p, "%s/bad.json", dir);
    static const char *const docs[] = {
        "{\"documents\":5}",
        "{\"entity\":\"e.com\",\"public_keys\":[]}",
        "{\"entity\":\"e.com\",\"public_keys\":[{\"kid\":\"a\",\"kty\":\"RSA\",\"crv\":\"P-256\","
        "\"x\":\"\",\"y\":\"\"}]}",
        "{\"entity\":\"e.com\",\"public_keys\":[{\"kid\":\"a\",\"kty\":\"EC\",\"crv\":\"P-256\","
        "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"y\":"
        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
        "{\"entity\":\"e.com\",\"entity\":\"f.com\"}",
        "not json",
    };
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(docs); i++) {
        FILE *f = fopen(p, "w");
        fputs(docs[i], f);
        fclose(f);
        struct symbi_agentpin_config cfg = {.trust_bundle = p};
        struct symbi_agentpin *ap = NULL;
        struct symbi_err err = {0};
        if (symbi_agentpin_new(&cfg, &ap, &err) == 0)
            fail_msg("bundle %zu accepted", i);
        assert_non_null(strstr(err.msg, "bad.json"));
    }
    unlink(p);
}

/* The gate: a bad credential is a Deny with AgentPinVerificationFailed. */
static void test_gate(void **state)
{
    (void)state;
    struct symbi_agentpin *ap = verifier();
    struct symbi_policy_env env = {"production", false, ap};
    struct symbi_job job;
    symbi_job_init(&job);
    job.name = symbi_strdup("deploy");
    job.agent = symbi_strdup("deployer");
    struct symbi_policy pol;
    assert_int_equal(symbi_policy_parse("{\"require_agent_pin\":true,\"max_runtime\":\"30m\"}",
                                        &pol, NULL, NULL),
                     0);
    struct symbi_run run;
    symbi_run_init(&run);
    struct symbi_exec_ctx c = {&job, NULL, &pol, &run, NULL, NOW};
    struct symbi_gate_decision d;
    /* no credential */
    assert_int_equal(symbi_policy_gate(&env, &c, &d, NULL), 0);
    assert_int_equal(d.verdict, SYMBI_GATE_DENY);
    assert_string_equal(d.audit_type, "AgentPinVerificationFailed");
    assert_non_null(strstr(d.reason, "no agent_pin_jwt"));
    /* alg none through ${VAR} expansion */
    char *none = assemble("{\"alg\":\"none\",\"kid\":\"k1\"}", GOOD, (const unsigned char *)"", 0);
    setenv("TEST_AGENT_PIN_JWT", none, 1);
    job.agent_pin_jwt = symbi_strdup("${TEST_AGENT_PIN_JWT}");
    assert_int_equal(symbi_policy_gate(&env, &c, &d, NULL), 0);
    assert_int_equal(d.verdict, SYMBI_GATE_DENY);
    assert_non_null(strstr(d.reason, "algorithm \"none\" refused"));
    /* a valid one: allowed, with the policy's max runtime */
    char *good = sign_with(key1, HDR, GOOD, false);
    setenv("TEST_AGENT_PIN_JWT", good, 1);
    assert_int_equal(symbi_policy_gate(&env, &c, &d, NULL), 0);
    assert_int_equal(d.verdict, SYMBI_GATE_ALLOW);
    assert_int_equal(d.max_runtime_ms, 30 * 60000);
    /* required globally: a job without a policy is checked too */
    struct symbi_policy empty;
    symbi_policy_init(&empty);
    c.policy = &empty;
    setenv("TEST_AGENT_PIN_JWT", none, 1);
    assert_int_equal(symbi_policy_gate(&env, &c, &d, NULL), 0);
    assert_int_equal(d.verdict, SYMBI_GATE_ALLOW);
    env.agentpin_required = true;
    assert_int_equal(symbi_policy_gate(&env, &c, &d, NULL), 0);
    assert_int_equal(d.verdict, SYMBI_GATE_DENY);
    assert_string_equal(d.audit_type, "AgentPinVerificationFailed");
    unsetenv("TEST_AGENT_PIN_JWT");
    free(none);
    free(good);
    symbi_policy_cleanup(&pol);
    symbi_run_cleanup(&run);
    symbi_job_cleanup(&job);
    symbi_agentpin_free(ap);
}

static void test_b64url(void **state)
{
    (void)state;
    unsigned char out[16];
    size_t n;
    assert_int_equal(ap_b64url_decode("", 0, out, 16, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ap_b64url_decode("QQ", 2, out, 16, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], 'A');
    assert_int_equal(ap_b64url_decode("QR", 2, out, 16, &n), SYMBI_EINVAL); /* non-canonical */
    assert_int_equal(ap_b64url_decode("Q", 1, out, 16, &n), SYMBI_EINVAL);
    assert_int_equal(ap_b64url_decode("QQ==", 4, out, 16, &n), SYMBI_EINVAL);
    assert_int_equal(ap_b64url_decode("-_-_", 4, out, 16, &n), 0);
    assert_int_equal(ap_b64url_decode("AAAAAAAAAAAAAAAAAAAAAAAA", 24, out, 16, &n), SYMBI_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url),
        cmocka_unit_test(test_valid_raw_and_der),
        cmocka_unit_test(test_attacks),
        cmocka_unit_test(test_der_strictness),
        cmocka_unit_test(test_skew_boundaries),
        cmocka_unit_test(test_discovery_cache_and_pin),
        cmocka_unit_test(test_local_domain_not_discovered),
        cmocka_unit_test(test_discovery_entity_mismatch),
        cmocka_unit_test(test_bad_bundles),
        cmocka_unit_test(test_gate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
