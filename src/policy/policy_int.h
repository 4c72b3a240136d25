/* policy_int.h - private interface of the policy module: strict base64url,
 * P-256 public keys from JWK coordinates, the key table of the AgentPin
 * verifier, and raw/DER ECDSA signature conversion. */
#ifndef SYMBI_POLICY_INT_H
#define SYMBI_POLICY_INT_H

#include "symbi/policy.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>

/* Decodes strict base64url (RFC 4648 §5, no padding, no other character,
 * canonical trailing bits) of n bytes into out (capacity cap). 0 with *len,
 * else SYMBI_EINVAL. */
int ap_b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap, size_t *len);
/* Encodes n bytes as base64url without padding into b. */
int ap_b64url_encode(struct symbi_buf *b, const unsigned char *p, size_t n);

/* A P-256 public key from its uncompressed point (65 bytes, 0x04 || x || y);
 * NULL when the point is not on the curve. */
EVP_PKEY *ap_pkey_from_point(const unsigned char point[65]);
/* The uncompressed point of a P-256 key. */
int ap_pkey_point(EVP_PKEY *k, unsigned char point[65]);
/* A JWK object (kty EC, crv P-256, x, y, kid) into kid and point. */
int ap_jwk_parse(json_t *jwk, char kid[128], unsigned char point[65], struct symbi_err *err);

/* Raw r||s (64 bytes) to DER; DER checked strictly (re-encoding gives the
 * same bytes) and kept. out has room for 80 bytes. */
int ap_sig_to_der(const unsigned char *sig, size_t n, unsigned char *out, size_t *out_len,
                  bool *was_der);

struct ap_key {
    char domain[256];
    char kid[128];
    unsigned char point[65];
    EVP_PKEY *pkey;
    bool discovered;
};

struct ap_pin {
    char domain[256];
    char kid[128];
    unsigned char point[65];
};

struct ap_fetched {
    char domain[256];
    int64_t at;        /* when the document was fetched (or refused) */
    char refused[400]; /* "" or why the document was refused */
};

struct symbi_agentpin {
    char *domain, *ca_file, *resolve;
    int64_t ttl_ms, skew_ms;
    symbi_agentpin_fetch_fn fetch;
    void *fetch_ud;
    pthread_mutex_t mu;
    struct ap_key keys[SYMBI_AGENTPIN_MAX_KEYS];
    size_t n_keys;
    struct ap_pin pins[SYMBI_AGENTPIN_MAX_KEYS];
    size_t n_pins;
    struct ap_fetched fetched[16];
    size_t n_fetched;
};

/* Adds the keys of a discovery document or a trust bundle (parsed JSON)
 * as local keys. */
int ap_keys_add_document(struct symbi_agentpin *ap, json_t *doc, const char *what,
                         struct symbi_err *err);
/* The key of (domain, kid) at now, from the local keys, else (for the
 * configured domain) from the discovery cache, fetching when stale. Takes
 * ap->mu. Returns the key with a reference held (EVP_PKEY_free it) or
 * NULL with the reason in err (SYMBI_EDENIED). */
EVP_PKEY *ap_key_find(struct symbi_agentpin *ap, const char *domain, const char *kid, int64_t now,
                      bool *discovered, struct symbi_err *err);

#endif
