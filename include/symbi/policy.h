/* policy.h - the policy module (SPEC §8, §9): API-key generation, salted
 * SHA-256 hashing and constant-time verification. Only this module
 * includes OpenSSL. */
#ifndef SYMBI_POLICY_H
#define SYMBI_POLICY_H

#include "symbi/core.h"

/* An API key as printed once to its owner: "symbi_" + 64 hex digits
 * (32 random bytes). */
#define SYMBI_API_KEY_PREFIX "symbi_"
#define SYMBI_API_KEY_STRLEN (6 + 64)
/* A salt: 16 random bytes as 32 hex digits. A hash: SHA-256 as 64 hex. */
#define SYMBI_KEY_SALT_HEXLEN 32
#define SYMBI_KEY_HASH_HEXLEN 64
/* Presented keys longer than this are refused without hashing. */
#define SYMBI_API_KEY_MAX_LEN 512

/* A new random key into out (NUL-terminated). SYMBI_EIO without randomness. */
int symbi_policy_key_generate(char out[SYMBI_API_KEY_STRLEN + 1]);
/* A new random salt as hex. */
int symbi_policy_key_salt(char out[SYMBI_KEY_SALT_HEXLEN + 1]);
/* hex(SHA-256(salt bytes || key)). SYMBI_EINVAL for a salt that is not
 * even-length hex of at most 64 bytes, or a key over the maximum. */
int symbi_policy_key_hash(const char *key, const char *salt_hex,
                          char out[SYMBI_KEY_HASH_HEXLEN + 1]);

/* A key's verifier in binary form, precomputed from the stored hex so the
 * per-request check only hashes the presented key. */
struct symbi_key_verifier {
    unsigned char salt[64];
    size_t salt_len;
    unsigned char hash[32];
};
/* Fills v from stored salt and hash hex. SYMBI_EINVAL on malformed hex. */
int symbi_policy_verifier_init(struct symbi_key_verifier *v, const char *salt_hex,
                               const char *hash_hex);
/* true when key hashes to v's hash under v's salt; the comparison is
 * constant-time (CRYPTO_memcmp). */
bool symbi_policy_key_matches(const struct symbi_key_verifier *v, const char *key, size_t key_len);

/* Constant-time equality of n bytes. */
bool symbi_policy_ct_equal(const void *a, const void *b, size_t n);

#endif
