/* keyhash.c - API keys (SPEC §9): random generation, salted SHA-256
 * hashing, constant-time verification of a presented key, and scopes. */
#include "symbi/policy.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

static const char hexdigits[] = "0123456789abcdef";

static void to_hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdigits[p[i] >> 4];
        out[2 * i + 1] = hexdigits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Decodes hex into out (at most cap bytes); SYMBI_EINVAL on bad input. */
static int from_hex(const char *hex, unsigned char *out, size_t cap, size_t *n)
{
    if (hex == NULL)
        return SYMBI_EINVAL;
    size_t len = strlen(hex);
    if (len % 2 != 0 || len / 2 > cap)
        return SYMBI_EINVAL;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = symbi_hex_value(hex[2 * i]), lo = symbi_hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return SYMBI_EINVAL;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    *n = len / 2;
    return 0;
}

int symbi_policy_key_generate(char out[SYMBI_API_KEY_STRLEN + 1])
{
    unsigned char raw[32];
    int rc = symbi_random_bytes(raw, sizeof raw);
    if (rc != 0)
        return rc;
    memcpy(out, SYMBI_API_KEY_PREFIX, 6);
    to_hex(raw, sizeof raw, out + 6);
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

int symbi_policy_key_salt(char out[SYMBI_KEY_SALT_HEXLEN + 1])
{
    unsigned char raw[SYMBI_KEY_SALT_HEXLEN / 2];
    int rc = symbi_random_bytes(raw, sizeof raw);
    if (rc != 0)
        return rc;
    to_hex(raw, sizeof raw, out);
    return 0;
}

static int sha256_salted(const unsigned char *salt, size_t salt_len, const char *key,
                         size_t key_len, unsigned char digest[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return SYMBI_ENOMEM;
    unsigned int dlen = 0;
    int ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, salt, salt_len) == 1 &&
             EVP_DigestUpdate(ctx, key, key_len) == 1 &&
             EVP_DigestFinal_ex(ctx, digest, &dlen) == 1 && dlen == 32;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : SYMBI_EIO;
}

int symbi_policy_key_hash(const char *key, const char *salt_hex,
                          char out[SYMBI_KEY_HASH_HEXLEN + 1])
{
    unsigned char salt[64], digest[32];
    size_t salt_len = 0;
    if (key == NULL || strlen(key) > SYMBI_API_KEY_MAX_LEN)
        return SYMBI_EINVAL;
    int rc = from_hex(salt_hex, salt, sizeof salt, &salt_len);
    if (rc != 0)
        return rc;
    rc = sha256_salted(salt, salt_len, key, strlen(key), digest);
    if (rc != 0)
        return rc;
    to_hex(digest, sizeof digest, out);
    return 0;
}

int symbi_policy_verifier_init(struct symbi_key_verifier *v, const char *salt_hex,
                               const char *hash_hex)
{
    size_t hash_len = 0;
    memset(v, 0, sizeof *v);
    if (from_hex(salt_hex, v->salt, sizeof v->salt, &v->salt_len) != 0 ||
        from_hex(hash_hex, v->hash, sizeof v->hash, &hash_len) != 0 || hash_len != 32)
        return SYMBI_EINVAL;
    return 0;
}

bool symbi_policy_key_matches(const struct symbi_key_verifier *v, const char *key, size_t key_len)
{
    unsigned char digest[32];
    if (key == NULL || key_len == 0 || key_len > SYMBI_API_KEY_MAX_LEN)
        return false;
    if (sha256_salted(v->salt, v->salt_len, key, key_len, digest) != 0)
        return false;
    return CRYPTO_memcmp(digest, v->hash, sizeof digest) == 0;
}

bool symbi_policy_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

static const char *const scope_names[] = {"read", "write", "run", "approve", "admin"};

const char *symbi_policy_scope_name(unsigned bit)
{
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(scope_names); i++)
        if (bit == 1u << i)
            return scope_names[i];
    return "?";
}

int symbi_policy_scopes_parse(const char *text, unsigned *mask, struct symbi_err *err)
{
    *mask = 0;
    if (text == NULL || text[0] == '\0') {
        *mask = SYMBI_SCOPE_ALL;
        return 0;
    }
    for (const char *s = text; *s != '\0';) {
        const char *e = strchr(s, ',');
        size_t n = e != NULL ? (size_t)(e - s) : strlen(s);
        size_t i = 0;
        while (i < SYMBI_ARRAY_LEN(scope_names) &&
               !(strlen(scope_names[i]) == n && memcmp(scope_names[i], s, n) == 0))
            i++;
        if (i == SYMBI_ARRAY_LEN(scope_names))
            return symbi_err_set(err, SYMBI_EINVAL,
                                 "unknown scope \"%.*s\" (read, write, run, approve, admin)",
                                 (int)(n > 32 ? 32 : n), s);
        *mask |= 1u << i;
        s = e != NULL ? e + 1 : s + n;
    }
    if (*mask & SYMBI_SCOPE_ADMIN)
        *mask = SYMBI_SCOPE_ALL;
    return 0;
}
