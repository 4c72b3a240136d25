/* tools.c - the operator's AgentPin tools (SPEC §8.2, §10 `symbi agentpin`):
 * a P-256 key pair with its discovery document and trust bundle, and
 * ES256 credentials signed with the private key. */
#include "policy/policy_int.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static FILE *create(const char *dir, const char *name, mode_t mode, char *path, size_t cap,
                    struct symbi_err *err)
{
    snprintf(path, cap, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        if (fd >= 0)
            close(fd);
        symbi_err_set(err, SYMBI_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    return f;
}

static json_t *jwk_of(EVP_PKEY *k, const char *kid)
{
    unsigned char pt[65];
    if (ap_pkey_point(k, pt) != 0)
        return NULL;
    struct symbi_buf x, y;
    symbi_buf_init(&x, 0);
    symbi_buf_init(&y, 0);
    json_t *o = NULL;
    if (ap_b64url_encode(&x, pt + 1, 32) == 0 && ap_b64url_encode(&y, pt + 33, 32) == 0)
        o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:[s]}", "kid", kid, "kty", "EC", "crv", "P-256",
                      "x", symbi_buf_str(&x), "y", symbi_buf_str(&y), "use", "sig", "key_ops",
                      "verify");
    symbi_buf_cleanup(&x);
    symbi_buf_cleanup(&y);
    return o;
}

static int write_json(const char *dir, const char *name, json_t *doc, struct symbi_err *err)
{
    char path[4096];
    FILE *f = create(dir, name, 0644, path, sizeof path, err);
    if (f == NULL)
        return SYMBI_EIO;
    int bad = json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0;
    bad |= fputc('\n', f) == EOF;
    bad |= fclose(f) != 0;
    return bad ? symbi_err_set(err, SYMBI_EIO, "cannot write %s", path) : 0;
}

int symbi_agentpin_keygen(const char *kid, const char *dir, const char *domain,
                          struct symbi_err *err)
{
    if (kid == NULL || kid[0] == '\0' || strlen(kid) >= 128 || strchr(kid, '/') != NULL)
        return symbi_err_set(err, SYMBI_EINVAL, "--kid must be 1-127 characters without '/'");
    EVP_PKEY *k = EVP_EC_gen("P-256");
    if (k == NULL)
        return symbi_err_set(err, SYMBI_EIO, "cannot generate a P-256 key");
    char path[4096], name[200];
    int rc = 0;
    snprintf(name, sizeof name, "%s.key.pem", kid);
    FILE *f = create(dir, name, 0600, path, sizeof path, err);
    if (f == NULL || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1)
        rc = f == NULL ? SYMBI_EIO : symbi_err_set(err, SYMBI_EIO, "cannot write %s", path);
    if (f != NULL && fclose(f) != 0 && rc == 0)
        rc = symbi_err_set(err, SYMBI_EIO, "cannot write %s", path);
    snprintf(name, sizeof name, "%s.pub.pem", kid);
    if (rc == 0 && (f = create(dir, name, 0644, path, sizeof path, err)) == NULL)
        rc = SYMBI_EIO;
    else if (rc == 0) {
        if (PEM_write_PUBKEY(f, k) != 1)
            rc = symbi_err_set(err, SYMBI_EIO, "cannot write %s", path);
        if (fclose(f) != 0 && rc == 0)
            rc = symbi_err_set(err, SYMBI_EIO, "cannot write %s", path);
    }
    json_t *jwk = rc == 0 ? jwk_of(k, kid) : NULL;
    json_t *doc = jwk != NULL
                      ? json_pack("{s:s,s:s,s:s,s:[o],s:[],s:i}", "agentpin_version", "0.1",
                                  "entity", domain != NULL ? domain : "example.com", "entity_type",
                                  "maker", "public_keys", jwk, "agents", "max_delegation_depth", 2)
                      : NULL;
    json_t *bundle =
        doc != NULL ? json_pack("{s:s,s:[O]}", "agentpin_bundle_version", "0.1", "documents", doc)
                    : NULL;
    if (rc == 0 && bundle == NULL)
        rc = symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    if (rc == 0)
        rc = write_json(dir, "agent-identity.json", doc, err);
    if (rc == 0)
        rc = write_json(dir, "trust-bundle.json", bundle, err);
    json_decref(doc);
    json_decref(bundle);
    EVP_PKEY_free(k);
    return rc;
}

/* Signs header.payload (JSON texts) with k into *token. */
static int sign(EVP_PKEY *k, const char *header, const char *payload, bool der, char **token,
                struct symbi_err *err)
{
    struct symbi_buf b;
    symbi_buf_init(&b, SYMBI_JWT_MAX_LEN * 2);
    int rc = ap_b64url_encode(&b, (const unsigned char *)header, strlen(header));
    if (rc == 0)
        rc = symbi_buf_putc(&b, '.');
    if (rc == 0)
        rc = ap_b64url_encode(&b, (const unsigned char *)payload, strlen(payload));
    unsigned char sig[80], raw[64];
    size_t slen = sizeof sig;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (rc == 0 && (ctx == NULL || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) != 1 ||
                    EVP_DigestSign(ctx, sig, &slen, (const unsigned char *)b.data, b.len) != 1))
        rc = symbi_err_set(err, SYMBI_EINVAL, "signing failed (is the key a P-256 private key?)");
    EVP_MD_CTX_free(ctx);
    if (rc == 0 && !der) {
        const unsigned char *q = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)slen);
        const BIGNUM *r = NULL, *s = NULL;
        if (es != NULL)
            ECDSA_SIG_get0(es, &r, &s);
        if (es == NULL || BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32)
            rc = symbi_err_set(err, SYMBI_EINVAL, "bad signature from OpenSSL");
        ECDSA_SIG_free(es);
    }
    if (rc == 0)
        rc = symbi_buf_putc(&b, '.');
    if (rc == 0)
        rc = der ? ap_b64url_encode(&b, sig, slen) : ap_b64url_encode(&b, raw, 64);
    if (rc != 0) {
        symbi_buf_cleanup(&b);
        return err != NULL && err->code != 0 ? rc : symbi_err_set(err, rc, "token too large");
    }
    *token = symbi_buf_steal(&b);
    return 0;
}

static EVP_PKEY *load_key(const char *file, struct symbi_err *err)
{
    FILE *f = fopen(file, "r");
    EVP_PKEY *k = f != NULL ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f != NULL)
        fclose(f);
    if (k == NULL)
        symbi_err_set(err, SYMBI_EINVAL, "%s: not a readable PEM private key", file);
    else if (!EVP_PKEY_is_a(k, "EC") || EVP_PKEY_get_bits(k) != 256) {
        symbi_err_set(err, SYMBI_EINVAL, "%s: not a P-256 key", file);
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

int symbi_agentpin_sign(const char *key_file, const char *header, const char *payload, bool der,
                        char **token, struct symbi_err *err)
{
    EVP_PKEY *k = load_key(key_file, err);
    if (k == NULL)
        return SYMBI_EINVAL;
    int rc = sign(k, header, payload, der, token, err);
    EVP_PKEY_free(k);
    return rc;
}

int symbi_agentpin_issue(const struct symbi_agentpin_issue *in, char **token, struct symbi_err *err)
{
    if (in->kid == NULL || in->iss == NULL || in->ttl_ms <= 0)
        return symbi_err_set(err, SYMBI_EINVAL, "issue needs --kid, --iss and a positive --ttl");
    char jti[SYMBI_UUID_LEN + 1];
    if (symbi_uuid_v4(jti) != 0)
        return symbi_err_set(err, SYMBI_EIO, "no randomness");
    json_t *h = json_pack("{s:s,s:s,s:s}", "alg", "ES256", "typ", "agentpin-credential+jwt", "kid",
                          in->kid);
    json_int_t iat = (json_int_t)(in->now / 1000);
    json_t *p = json_pack("{s:s,s:I,s:I,s:s}", "iss", in->iss, "iat", iat, "exp",
                          iat + (json_int_t)(in->ttl_ms / 1000), "jti", jti);
    if (p != NULL && in->sub != NULL)
        json_object_set_new(p, "sub", json_string(in->sub));
    if (p != NULL && in->n_capabilities > 0) {
        json_t *caps = json_array();
        for (size_t i = 0; i < in->n_capabilities; i++)
            json_array_append_new(caps, json_string(in->capabilities[i]));
        json_object_set_new(p, "capabilities", caps);
    }
    char *hs = h != NULL ? json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    char *ps = p != NULL ? json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    int rc = hs != NULL && ps != NULL
                 ? symbi_agentpin_sign(in->key_file, hs, ps, in->der, token, err)
                 : symbi_err_set(err, SYMBI_EINVAL, "the claims are not valid UTF-8 strings");
    free(hs);
    free(ps);
    json_decref(h);
    json_decref(p);
    return rc;
}
