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
    int64_t approval_timeout_ms;         /* -1: not set (SYMBI_POLICY_APPROVAL_TIMEOUT_MS) */
    struct symbi_policy_list policy_ids; /* named policies no guide-form block
                                            defines (upstream policy_ids): no effect */
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

/* Merges two policy JSON objects (either may be NULL) into a new heap JSON
 * object where the stricter value of each key wins (SPEC §8.3): booleans
 * OR, durations the shorter, require_capabilities and policy_ids the
 * union, approvers and allowed_environments the intersection,
 * allowed_hours the intersection of the two windows. SYMBI_EINVAL (err
 * names the key) when an intersection leaves nothing (no environment, no
 * approver, no minute of the day) or two windows meet in more than one
 * piece; *out is NULL when both are NULL. */
int symbi_policy_merge(const char *a, const char *b, char **out, struct symbi_err *err);

/* ---- evaluation (SPEC §8.1): pure, `now` passed in ---- */
enum symbi_policy_verdict {
    SYMBI_POLICY_ALLOW = 0,
    SYMBI_POLICY_DENY,
    SYMBI_POLICY_REQUIRE_APPROVAL,
};

/* Checks the run's AgentPin credential: 0 when it verifies, else a
 * negative code with the reason in reason (NUL-terminated). */
typedef int (*symbi_policy_pin_fn)(void *ud, char *reason, size_t size);

struct symbi_policy_input {
    const struct symbi_policy *policy; /* never NULL (policy->set false: none) */
    const char *const *capabilities;   /* the agent's; NULL/0 when unknown */
    size_t n_capabilities;
    const char *environment; /* the daemon's; NULL is "development" */
    bool pin_required;       /* SYMBI_AGENTPIN_REQUIRED / [agentpin] required */
    bool approved;           /* the run already carries an approver */
    int64_t now;             /* the run's start instant, UTC ms */
    symbi_policy_pin_fn pin; /* called only when a pin is required and the
                                other conditions hold; NULL fails it */
    void *pin_ud;
};

struct symbi_policy_decision {
    enum symbi_policy_verdict verdict;
    char reason[512];       /* DENY: why */
    const char *audit_type; /* DENY: "PolicyDenied" or "AgentPinVerificationFailed" */
    const struct symbi_policy_list *approvers; /* REQUIRE_APPROVAL: borrowed, may be empty */
};

/* Decides in this order: require_capabilities, allowed_environments,
 * allowed_hours, the AgentPin credential (policy or pin_required), then
 * require_approval (passed when in->approved). Always returns 0. */
int symbi_policy_evaluate(const struct symbi_policy_input *in, struct symbi_policy_decision *d);
/* true when now (UTC) is inside allowed_hours [start, end), or none is set. */
bool symbi_policy_hours_allow(const struct symbi_policy *p, int64_t now);
/* true when the policy lists no approvers or lists who (who NULL: false
 * when approvers are listed). */
bool symbi_policy_may_approve(const struct symbi_policy *p, const char *who);
/* The approval timeout in effect: the policy's, else default_ms, else 1 h. */
int64_t symbi_policy_approval_timeout(const struct symbi_policy *p, int64_t default_ms);
/* true when a run waiting for approval since `since` is unanswered too long. */
bool symbi_policy_approval_expired(const struct symbi_policy *p, int64_t default_ms, int64_t since,
                                   int64_t now);

/* ---- the approval workflow (SPEC §8.1), shared by the CLI and the API ---- */
struct symbi_store;
struct symbi_run;
/* When a run began waiting for approval: its started_at when set, else
 * the later of due_at and created_at (when it could first have started). */
int64_t symbi_policy_pending_since(const struct symbi_run *run);
/* Approves or denies the pending run run_ref (id or prefix) as `who`:
 * SYMBI_EINVAL without a name, SYMBI_EDENIED when the job's policy lists
 * approvers and who is not one of them (for deny too), SYMBI_ESTATE when
 * the run is not pending, or when its approval timeout has passed (the run
 * is then denied by "approval-timeout"). Otherwise symbi_store_run_decide
 * (approved: queued for any scheduler; denied: final, no failure).
 * *out (may be NULL) gets the run as stored. */
int symbi_policy_decide(struct symbi_store *st, const char *run_ref, bool approve, const char *who,
                        const char *reason, int64_t default_timeout_ms, int64_t now,
                        struct symbi_run *out, struct symbi_err *err);
/* Denies every pending run whose approval timeout has passed at now (the
 * scheduler calls it each tick); *n_denied (may be NULL) counts them. */
int symbi_policy_expire_approvals(struct symbi_store *st, int64_t default_timeout_ms, int64_t now,
                                  size_t *n_denied, struct symbi_err *err);

/* ---- AgentPin (SPEC §8.2): compact ES256 JWT credentials ---- */
#define SYMBI_JWT_MAX_LEN           8192        /* bytes of a token, checked first */
#define SYMBI_AGENTPIN_DOC_MAX      (64 * 1024) /* a discovery document */
#define SYMBI_AGENTPIN_MAX_KEYS     256         /* keys held in all */
#define SYMBI_AGENTPIN_DEFAULT_SKEW 60000
#define SYMBI_AGENTPIN_DEFAULT_TTL  3600000

/* Fetches url over HTTPS into *body (heap, *len bytes, at most max),
 * verifying TLS against ca_file (NULL: the system's) with resolve (NULL or
 * "host:port:addr", curl's CURLOPT_RESOLVE form) applied. Returns 0 or a
 * negative code with err set. The daemon wires libcurl's (symbi/fetch.h). */
typedef int (*symbi_agentpin_fetch_fn)(void *ud, const char *url, const char *ca_file,
                                       const char *resolve, size_t max, char **body, size_t *len,
                                       struct symbi_err *err);

struct symbi_agentpin_config {
    const char *domain;       /* the expected issuer (iss); NULL: any domain with local keys */
    const char *trust_bundle; /* a trust bundle file, or NULL */
    const char *keys_dir;     /* a directory of discovery documents / bundles, or NULL */
    const char *ca_file;      /* for discovery */
    const char *discovery_resolve;
    int64_t cache_ttl_ms;          /* discovery cache; <= 0: SYMBI_AGENTPIN_DEFAULT_TTL */
    int64_t clock_skew_ms;         /* < 0: SYMBI_AGENTPIN_DEFAULT_SKEW */
    symbi_agentpin_fetch_fn fetch; /* NULL: no discovery */
    void *fetch_ud;
};

/* The verifier: configuration, the local keys and the discovery cache with
 * its pins. Thread-safe after creation. */
struct symbi_agentpin;

/* Loads the local keys (trust_bundle, keys_dir). SYMBI_EINVAL / SYMBI_EIO
 * naming the file at fault. The config's strings are copied. */
int symbi_agentpin_new(const struct symbi_agentpin_config *cfg, struct symbi_agentpin **out,
                       struct symbi_err *err);
void symbi_agentpin_free(struct symbi_agentpin *ap); /* NULL is a no-op */

struct symbi_agentpin_claims {
    char iss[256];
    char sub[256]; /* "" when absent */
    char kid[128];
    int64_t iat, exp, nbf; /* UTC ms; nbf SYMBI_TIME_NONE when absent */
    bool der;              /* the signature was DER, not raw r||s */
    bool discovered;       /* the key came from discovery, not local keys */
};

/* Verifies token (NUL-terminated; hostile) for the agent named `agent`
 * (NULL: any) at `now`: size, strict base64url, header an object whose
 * alg is ES256 (checked before any key is used), kid, claims (no
 * duplicate keys), iss equal to the configured domain, the key (local,
 * else discovery), the signature (raw or DER), the agent identity (sub,
 * else iss), exp/nbf/iat within the clock skew. 0 with *out filled (may be
 * NULL), else SYMBI_EDENIED with the reason in err->msg (SYMBI_ENOMEM). */
int symbi_agentpin_verify(struct symbi_agentpin *ap, const char *token, const char *agent,
                          int64_t now, struct symbi_agentpin_claims *out, struct symbi_err *err);

/* Operator tools (symbi agentpin ...). keygen writes DIR/KID.key.pem (the
 * private key, mode 0600), DIR/KID.pub.pem, DIR/agent-identity.json (a
 * discovery document for `domain`) and DIR/trust-bundle.json. */
int symbi_agentpin_keygen(const char *kid, const char *dir, const char *domain,
                          struct symbi_err *err);
struct symbi_agentpin_issue {
    const char *key_file; /* PEM private key */
    const char *kid;
    const char *iss;
    const char *sub;                 /* NULL: none */
    const char *const *capabilities; /* NULL/0: none */
    size_t n_capabilities;
    int64_t now, ttl_ms;
    bool der; /* DER signature instead of raw r||s (for tests) */
};
/* Signs header.payload (JSON texts, taken as given: for tests of hostile
 * headers too) with the PEM P-256 private key in key_file into *token
 * (heap), the signature raw r||s or DER. */
int symbi_agentpin_sign(const char *key_file, const char *header, const char *payload, bool der,
                        char **token, struct symbi_err *err);
/* Signs a credential (alg ES256, typ agentpin-credential+jwt, kid; iss,
 * sub, iat = now, exp = now + ttl, jti, capabilities) into *token (heap). */
int symbi_agentpin_issue(const struct symbi_agentpin_issue *in, char **token,
                         struct symbi_err *err);

/* ---- the run pipeline's policy gate (include/symbi/exec.h) ---- */
struct symbi_exec_ctx;
struct symbi_gate_decision;
struct symbi_policy_env {
    const char *environment;         /* fallback when the context has none */
    bool agentpin_required;          /* every job requires its credential */
    struct symbi_agentpin *agentpin; /* NULL: every credential check fails */
};
/* A symbi_exec_gate_fn: ud is a struct symbi_policy_env. Evaluates the
 * run's policy (symbi_policy_evaluate) with its agent's capabilities and
 * the job's agent_pin_jwt (${VAR} expanded here) verified through
 * env->agentpin. */
int symbi_policy_gate(void *ud, const struct symbi_exec_ctx *c, struct symbi_gate_decision *d,
                      struct symbi_err *err);

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

/* API key scopes (SPEC §9): what a key may do. admin holds them all. */
enum {
    SYMBI_SCOPE_READ = 1 << 0,    /* GET */
    SYMBI_SCOPE_WRITE = 1 << 1,   /* create, update, delete, pause, resume, reset */
    SYMBI_SCOPE_RUN = 1 << 2,     /* manual runs */
    SYMBI_SCOPE_APPROVE = 1 << 3, /* approve / deny */
    SYMBI_SCOPE_ADMIN = 1 << 4,
    SYMBI_SCOPE_ALL = (1 << 5) - 1,
};
/* "read,write,..." into a mask (admin: every scope); NULL or "" is every
 * scope (keys made before scopes existed). SYMBI_EINVAL naming an unknown
 * scope. */
int symbi_policy_scopes_parse(const char *text, unsigned *mask, struct symbi_err *err);
/* The scope's name ("read", ...) for one bit. */
const char *symbi_policy_scope_name(unsigned bit);

/* Constant-time equality of n bytes. */
bool symbi_policy_ct_equal(const void *a, const void *b, size_t n);

#endif
