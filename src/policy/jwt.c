/* jwt.c - the AgentPin credential verifier (SPEC §8.2), written for hostile
 * input: size first, strict base64url, the header's alg pinned to ES256
 * before any key is touched, then claims, domain anchor, key, signature,
 * agent identity and time, each refusal with its reason. */
#include "policy/policy_int.h"

#include <openssl/ecdsa.h>
#include <string.h>

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int ap_b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap, size_t *len)
{
    if (n % 4 == 1 || (n / 4) * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
        return SYMBI_EINVAL;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)in[i]);
        if (v < 0)
            return SYMBI_EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* non-canonical: leftover bits must be zero */
        return SYMBI_EINVAL;
    *len = o;
    return 0;
}

int ap_b64url_encode(struct symbi_buf *b, const unsigned char *p, size_t n)
{
    int rc = 0;
    size_t i = 0;
    for (; i + 3 <= n && rc == 0; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        char q[4] = {b64chars[v >> 18], b64chars[(v >> 12) & 63], b64chars[(v >> 6) & 63],
                     b64chars[v & 63]};
        rc = symbi_buf_append(b, q, 4);
    }
    if (rc == 0 && n - i == 1) {
        char q[2] = {b64chars[p[i] >> 2], b64chars[(p[i] & 3) << 4]};
        rc = symbi_buf_append(b, q, 2);
    } else if (rc == 0 && n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 8 | p[i + 1];
        char q[3] = {b64chars[v >> 10], b64chars[(v >> 4) & 63], b64chars[(v & 15) << 2]};
        rc = symbi_buf_append(b, q, 3);
    }
    return rc;
}

int ap_sig_to_der(const unsigned char *sig, size_t n, unsigned char *out, size_t *out_len,
                  bool *was_der)
{
    ECDSA_SIG *s = NULL;
    int rc = SYMBI_EINVAL;
    if (n == 64) {
        *was_der = false;
        BIGNUM *r = BN_bin2bn(sig, 32, NULL), *sv = BN_bin2bn(sig + 32, 32, NULL);
        if (r == NULL || sv == NULL || (s = ECDSA_SIG_new()) == NULL ||
            ECDSA_SIG_set0(s, r, sv) != 1) {
            BN_free(r);
            BN_free(sv);
            ECDSA_SIG_free(s);
            return SYMBI_ENOMEM;
        }
    } else if (n >= 8 && n <= 72 && sig[0] == 0x30) {
        *was_der = true;
        const unsigned char *q = sig;
        if ((s = d2i_ECDSA_SIG(NULL, &q, (long)n)) == NULL || q != sig + n)
            goto out;
    } else {
        return SYMBI_EINVAL;
    }
    int len = i2d_ECDSA_SIG(s, NULL);
    if (len <= 0 || len > 80)
        goto out;
    unsigned char *w = out;
    if (i2d_ECDSA_SIG(s, &w) != len)
        goto out;
    /* DER must be exactly the canonical encoding */
    if (*was_der && ((size_t)len != n || memcmp(out, sig, n) != 0))
        goto out;
    *out_len = (size_t)len;
    rc = 0;
out:
    ECDSA_SIG_free(s);
    return rc;
}

static int refuse(struct symbi_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int refuse(struct symbi_err *err, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = SYMBI_EDENIED;
    }
    return SYMBI_EDENIED;
}

/* A JSON object from a base64url segment, duplicate keys refused. */
static json_t *segment_json(const char *s, size_t n, const char *what, struct symbi_err *err)
{
    unsigned char buf[SYMBI_JWT_MAX_LEN];
    size_t len;
    if (ap_b64url_decode(s, n, buf, sizeof buf, &len) != 0) {
        refuse(err, "the credential's %s is not strict base64url", what);
        return NULL;
    }
    json_error_t je;
    json_t *o = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL) {
        refuse(err, "the credential's %s is not valid JSON (%s)", what, je.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        refuse(err, "the credential's %s is not a JSON object", what);
        return NULL;
    }
    return o;
}

/* A NumericDate claim (seconds, integer or decimal) in ms; SYMBI_TIME_NONE
 * when absent; false when present and not a sane number. */
static bool claim_time(json_t *claims, const char *name, int64_t *ms)
{
    json_t *v = json_object_get(claims, name);
    *ms = SYMBI_TIME_NONE;
    if (v == NULL)
        return true;
    if (json_is_integer(v)) {
        json_int_t s = json_integer_value(v);
        if (s < 0 || s > 100000000000LL)
            return false;
        *ms = (int64_t)s * 1000;
        return true;
    }
    if (json_is_real(v)) {
        double s = json_real_value(v);
        if (!(s >= 0 && s <= 1e11))
            return false;
        *ms = (int64_t)(s * 1000.0);
        return true;
    }
    return false;
}

static bool copy_str(json_t *o, const char *name, char *out, size_t cap, bool required)
{
    json_t *v = json_object_get(o, name);
    out[0] = '\0';
    if (v == NULL)
        return !required;
    const char *s = json_string_value(v);
    size_t n = s != NULL ? strlen(s) : 0;
    if (s == NULL || n == 0 || n >= cap)
        return false;
    memcpy(out, s, n + 1);
    return true;
}

static int check_header(json_t *h, struct symbi_agentpin_claims *c, struct symbi_err *err)
{
    json_t *alg = json_object_get(h, "alg");
    if (!json_is_string(alg))
        return refuse(err, "the credential's header has no alg");
    if (strcmp(json_string_value(alg), "ES256") != 0)
        return refuse(err, "algorithm \"%.32s\" refused: only ES256 is accepted",
                      json_string_value(alg));
    json_t *typ = json_object_get(h, "typ");
    if (typ != NULL &&
        (!json_is_string(typ) || (strcmp(json_string_value(typ), "agentpin-credential+jwt") != 0 &&
                                  strcmp(json_string_value(typ), "JWT") != 0)))
        return refuse(err, "the credential's typ is not agentpin-credential+jwt");
    if (json_object_get(h, "crit") != NULL)
        return refuse(err, "the credential names critical header extensions (crit)");
    if (!copy_str(h, "kid", c->kid, sizeof c->kid, true))
        return refuse(err, "the credential's header has no usable kid");
    return 0;
}

static int check_claims(json_t *p, struct symbi_agentpin_claims *c, struct symbi_err *err)
{
    if (!copy_str(p, "iss", c->iss, sizeof c->iss, true))
        return refuse(err, "the credential has no usable iss claim");
    if (!copy_str(p, "sub", c->sub, sizeof c->sub, false))
        return refuse(err, "the credential's sub claim is not a usable string");
    if (!claim_time(p, "exp", &c->exp) || c->exp == SYMBI_TIME_NONE)
        return refuse(err, "the credential has no valid exp claim");
    if (!claim_time(p, "iat", &c->iat) || c->iat == SYMBI_TIME_NONE)
        return refuse(err, "the credential has no valid iat claim");
    if (!claim_time(p, "nbf", &c->nbf))
        return refuse(err, "the credential's nbf claim is not a time");
    return 0;
}

static int check_time(const struct symbi_agentpin *ap, const struct symbi_agentpin_claims *c,
                      int64_t now, struct symbi_err *err)
{
    char t[SYMBI_TIME_STRLEN];
    if (now > c->exp + ap->skew_ms)
        return refuse(err, "the credential expired at %s", symbi_time_fmt(c->exp, t));
    if (c->nbf != SYMBI_TIME_NONE && c->nbf > now + ap->skew_ms)
        return refuse(err, "the credential is not valid before %s (nbf)",
                      symbi_time_fmt(c->nbf, t));
    if (c->iat > now + ap->skew_ms)
        return refuse(err, "the credential is issued in the future (iat %s)",
                      symbi_time_fmt(c->iat, t));
    return 0;
}

static int verify_sig(EVP_PKEY *key, const char *input, size_t in_len, const char *sig64,
                      size_t sig_len, bool *der, struct symbi_err *err)
{
    unsigned char raw[128], dsig[80];
    size_t raw_len, dlen;
    if (sig_len > 200 || ap_b64url_decode(sig64, sig_len, raw, sizeof raw, &raw_len) != 0)
        return refuse(err, "the credential's signature is not strict base64url");
    int rc = ap_sig_to_der(raw, raw_len, dsig, &dlen, der);
    if (rc == SYMBI_ENOMEM)
        return symbi_err_set(err, rc, "out of memory");
    if (rc != 0)
        return refuse(err, "the credential's signature is neither raw r||s nor strict DER");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(ctx, dsig, dlen, (const unsigned char *)input, in_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : refuse(err, "the credential's ES256 signature does not verify");
}

int symbi_agentpin_verify(struct symbi_agentpin *ap, const char *token, const char *agent,
                          int64_t now, struct symbi_agentpin_claims *out, struct symbi_err *err)
{
    if (token == NULL || token[0] == '\0')
        return refuse(err, "no credential (agent_pin_jwt is empty)");
    size_t len = strnlen(token, SYMBI_JWT_MAX_LEN + 1);
    if (len > SYMBI_JWT_MAX_LEN)
        return refuse(err, "the credential is longer than %d bytes", SYMBI_JWT_MAX_LEN);
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (d1 == NULL || d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL ||
        d1 == token || d2 == d1 + 1)
        return refuse(err, "the credential is not a compact JWS (header.payload.signature)");
    struct symbi_agentpin_claims c;
    memset(&c, 0, sizeof c);
    json_t *h = segment_json(token, (size_t)(d1 - token), "header", err);
    if (h == NULL)
        return SYMBI_EDENIED;
    int rc = check_header(h, &c, err);
    json_decref(h);
    if (rc != 0)
        return rc;
    if (d2 + 1 == token + len)
        return refuse(err, "the credential has no signature");
    json_t *p = segment_json(d1 + 1, (size_t)(d2 - d1 - 1), "payload", err);
    if (p == NULL)
        return SYMBI_EDENIED;
    rc = check_claims(p, &c, err);
    json_decref(p);
    if (rc != 0)
        return rc;
    if (ap->domain != NULL && strcmp(c.iss, ap->domain) != 0)
        return refuse(err,
                      "the credential's issuer \"%.100s\" is not the expected domain \"%.100s\"",
                      c.iss, ap->domain);
    EVP_PKEY *key = ap_key_find(ap, c.iss, c.kid, now, &c.discovered, err);
    if (key == NULL)
        return err != NULL && err->code != 0 ? err->code : SYMBI_EDENIED;
    rc = verify_sig(key, token, (size_t)(d2 - token), d2 + 1, len - (size_t)(d2 + 1 - token),
                    &c.der, err);
    EVP_PKEY_free(key);
    if (rc != 0)
        return rc;
    const char *who = c.sub[0] != '\0' ? c.sub : c.iss;
    if (agent != NULL && strcmp(who, agent) != 0)
        return refuse(err, "the credential names agent \"%.100s\", not \"%.100s\"", who, agent);
    if ((rc = check_time(ap, &c, now, err)) != 0)
        return rc;
    if (out != NULL)
        *out = c;
    return 0;
}
