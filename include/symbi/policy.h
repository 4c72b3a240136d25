/* policy.h - the policy module (SPEC §8, §9): a job's policy parsed once
 * into a typed struct, API-key generation, salted SHA-256 hashing and
 * constant-time verification. Only this module includes OpenSSL. */
#ifndef SYMBI_POLICY_H
#define SYMBI_POLICY_H

#include "symbi/core.h"

/* ---- a job's policy (SPEC §8.1), parsed once from its stored JSON ---- */
#define SYMBI_POLICY_MAX_LIST            64 /* entries of approvers/capabilities/environments */
#define SYMBI_POLICY_APPROVAL_TIMEOUT_MS (3600 * 1000LL)

struct symbi_policy_list {
    char **v; /* heap strings */
    size_t n;
    bool set; /* the key was given (an empty list is not "unset") */
};

struct symbi_policy {
    bool set; /* the job has a policy object */
    bool require_approval;
    struct symbi_policy_list approvers;
    int64_t max_runtime_ms; /* -1: not set */
    struct symbi_policy_list require_capabilities;
    bool has_hours;      /* allowed_hours given */
    int hours_start_min; /* minutes after 00:00 UTC, 0..1440 */
    int hours_end_min;   /* end < start wraps midnight; start == end: all day */
    struct symbi_policy_list allowed_environments;
    bool require_agent_pin;
    int64_t approval_timeout_ms; /* -1: not set (SYMBI_POLICY_APPROVAL_TIMEOUT_MS) */
};

void symbi_policy_init(struct symbi_policy *p);
void symbi_policy_cleanup(struct symbi_policy *p); /* frees and re-inits */

/* Parses a policy JSON object (NULL or "" is no policy: p->set false).
 * Unknown keys, wrong types and bad values are SYMBI_EINVAL with err->msg
 * "policy.<key>: <message>" and *field (when not NULL) set to the
 * "policy.<key>" name. *p is initialised by the call and owns its lists. */
int symbi_policy_parse(const char *json, struct symbi_policy *p, const char **field,
                       struct symbi_err *err);

/* true when name is in the list. */
bool symbi_policy_list_has(const struct symbi_policy_list *l, const char *name);

/* The keys of a policy block, in the order of the DSL's help. */
extern const char *const symbi_policy_keys[];
extern const size_t symbi_policy_n_keys;

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
