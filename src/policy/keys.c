/* keys.c - the AgentPin verifier's keys (SPEC §8.2): local keys from a
 * trust bundle or a directory, else the issuer's discovery document over
 * HTTPS, cached for cache_ttl_seconds, its keys pinned on first use. */
#include "policy/policy_int.h"

#include <dirent.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

EVP_PKEY *ap_pkey_from_point(const unsigned char point[65])
{
    if (point[0] != 0x04)
        return NULL;
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, 65),
        OSSL_PARAM_construct_end(),
    };
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
        k = NULL;
    EVP_PKEY_CTX_free(ctx);
    if (k != NULL) { /* fromdata does not check that the point is on the curve */
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
        if (c == NULL || EVP_PKEY_public_check(c) != 1) {
            EVP_PKEY_free(k);
            k = NULL;
        }
        EVP_PKEY_CTX_free(c);
    }
    return k;
}

int ap_pkey_point(EVP_PKEY *k, unsigned char point[65])
{
    size_t n = 0;
    if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, point, 65, &n) != 1 || n != 65)
        return SYMBI_EINVAL;
    return 0;
}

int ap_jwk_parse(json_t *jwk, char kid[128], unsigned char point[65], struct symbi_err *err)
{
    const char *k = json_string_value(json_object_get(jwk, "kid"));
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    const char *x = json_string_value(json_object_get(jwk, "x"));
    const char *y = json_string_value(json_object_get(jwk, "y"));
    size_t xn, yn;
    if (k == NULL || k[0] == '\0' || strlen(k) >= 128)
        return symbi_err_set(err, SYMBI_EINVAL, "a public key has no usable kid");
    if (kty == NULL || strcmp(kty, "EC") != 0 || crv == NULL || strcmp(crv, "P-256") != 0)
        return symbi_err_set(err, SYMBI_EINVAL, "key %s is not an EC P-256 key", k);
    point[0] = 0x04;
    if (x == NULL || y == NULL || ap_b64url_decode(x, strlen(x), point + 1, 32, &xn) != 0 ||
        xn != 32 || ap_b64url_decode(y, strlen(y), point + 33, 32, &yn) != 0 || yn != 32)
        return symbi_err_set(err, SYMBI_EINVAL, "key %s has bad x/y coordinates", k);
    memcpy(kid, k, strlen(k) + 1);
    return 0;
}

static int add_key(struct symbi_agentpin *ap, const char *domain, const char *kid,
                   const unsigned char point[65], bool discovered, struct symbi_err *err)
{
    if (ap->n_keys >= SYMBI_AGENTPIN_MAX_KEYS)
        return symbi_err_set(err, SYMBI_ETOOBIG, "more than %d AgentPin keys",
                             SYMBI_AGENTPIN_MAX_KEYS);
    EVP_PKEY *pk = ap_pkey_from_point(point);
    if (pk == NULL)
        return symbi_err_set(err, SYMBI_EINVAL, "key %s of %s is not a point on P-256", kid,
                             domain);
    struct ap_key *k = &ap->keys[ap->n_keys++];
    snprintf(k->domain, sizeof k->domain, "%s", domain);
    snprintf(k->kid, sizeof k->kid, "%s", kid);
    memcpy(k->point, point, 65);
    k->pkey = pk;
    k->discovered = discovered;
    return 0;
}

/* One discovery document's (entity, public_keys) into parallel arrays. */
struct doc_keys {
    const char *entity;
    size_t n;
    char kid[16][128];
    unsigned char point[16][65];
};

static int doc_parse(json_t *doc, struct doc_keys *dk, struct symbi_err *err)
{
    dk->entity = json_string_value(json_object_get(doc, "entity"));
    json_t *keys = json_object_get(doc, "public_keys");
    if (dk->entity == NULL || dk->entity[0] == '\0' || strlen(dk->entity) >= 256)
        return symbi_err_set(err, SYMBI_EINVAL, "the document has no entity (domain)");
    if (!json_is_array(keys) || json_array_size(keys) == 0 || json_array_size(keys) > 16)
        return symbi_err_set(err, SYMBI_EINVAL, "%s: public_keys must hold 1 to 16 keys",
                             dk->entity);
    dk->n = 0;
    size_t i;
    json_t *jwk;
    json_array_foreach(keys, i, jwk)
    {
        int rc = ap_jwk_parse(jwk, dk->kid[dk->n], dk->point[dk->n], err);
        if (rc != 0)
            return rc;
        dk->n++;
    }
    return 0;
}

int ap_keys_add_document(struct symbi_agentpin *ap, json_t *doc, const char *what,
                         struct symbi_err *err)
{
    json_t *docs = json_object_get(doc, "documents"); /* a trust bundle */
    size_t i;
    json_t *d;
    if (docs != NULL) {
        if (!json_is_array(docs))
            return symbi_err_set(err, SYMBI_EINVAL, "%s: documents must be an array", what);
        json_array_foreach(docs, i, d)
        {
            int rc = ap_keys_add_document(ap, d, what, err);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    struct doc_keys *dk = malloc(sizeof *dk);
    if (dk == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    int rc = doc_parse(doc, dk, err);
    for (size_t k = 0; rc == 0 && k < dk->n; k++)
        rc = add_key(ap, dk->entity, dk->kid[k], dk->point[k], false, err);
    if (rc != 0 && err != NULL) {
        char m[sizeof err->msg];
        snprintf(m, sizeof m, "%s", err->msg);
        symbi_err_set(err, rc, "%s: %s", what, m);
    }
    free(dk);
    return rc;
}

static int load_file(struct symbi_agentpin *ap, const char *path, struct symbi_err *err)
{
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL)
        return symbi_err_set(err, SYMBI_EINVAL, "%s:%d: %s", path, je.line, je.text);
    int rc = ap_keys_add_document(ap, doc, path, err);
    json_decref(doc);
    return rc;
}

static int load_dir(struct symbi_agentpin *ap, const char *dir, struct symbi_err *err)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0)
        return symbi_err_set(err, SYMBI_EIO, "agentpin keys_dir %s cannot be read", dir);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(names[i]->d_name);
        if (rc == 0 && l > 5 && strcmp(names[i]->d_name + l - 5, ".json") == 0 &&
            names[i]->d_name[0] != '.') {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            rc = load_file(ap, path, err);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static char *dup_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? symbi_strdup(s) : NULL;
}

int symbi_agentpin_new(const struct symbi_agentpin_config *cfg, struct symbi_agentpin **out,
                       struct symbi_err *err)
{
    struct symbi_agentpin *ap = calloc(1, sizeof *ap);
    if (ap == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    pthread_mutex_init(&ap->mu, NULL);
    ap->domain = dup_or_null(cfg->domain);
    ap->ca_file = dup_or_null(cfg->ca_file);
    ap->resolve = dup_or_null(cfg->discovery_resolve);
    ap->ttl_ms = cfg->cache_ttl_ms > 0 ? cfg->cache_ttl_ms : SYMBI_AGENTPIN_DEFAULT_TTL;
    ap->skew_ms = cfg->clock_skew_ms >= 0 ? cfg->clock_skew_ms : SYMBI_AGENTPIN_DEFAULT_SKEW;
    ap->fetch = cfg->fetch;
    ap->fetch_ud = cfg->fetch_ud;
    int rc = 0;
    if (cfg->trust_bundle != NULL && cfg->trust_bundle[0] != '\0')
        rc = load_file(ap, cfg->trust_bundle, err);
    if (rc == 0 && cfg->keys_dir != NULL && cfg->keys_dir[0] != '\0')
        rc = load_dir(ap, cfg->keys_dir, err);
    if (rc != 0) {
        symbi_agentpin_free(ap);
        return rc;
    }
    *out = ap;
    return 0;
}

void symbi_agentpin_free(struct symbi_agentpin *ap)
{
    if (ap == NULL)
        return;
    for (size_t i = 0; i < ap->n_keys; i++)
        EVP_PKEY_free(ap->keys[i].pkey);
    free(ap->domain);
    free(ap->ca_file);
    free(ap->resolve);
    pthread_mutex_destroy(&ap->mu);
    free(ap);
}

static struct ap_key *lookup(struct symbi_agentpin *ap, const char *domain, const char *kid,
                             bool discovered)
{
    for (size_t i = 0; i < ap->n_keys; i++)
        if (ap->keys[i].discovered == discovered && strcmp(ap->keys[i].domain, domain) == 0 &&
            strcmp(ap->keys[i].kid, kid) == 0)
            return &ap->keys[i];
    return NULL;
}

static void drop_discovered(struct symbi_agentpin *ap, const char *domain)
{
    size_t o = 0;
    for (size_t i = 0; i < ap->n_keys; i++) {
        if (ap->keys[i].discovered && strcmp(ap->keys[i].domain, domain) == 0)
            EVP_PKEY_free(ap->keys[i].pkey);
        else
            ap->keys[o++] = ap->keys[i];
    }
    ap->n_keys = o;
}

static struct ap_fetched *fetched_of(struct symbi_agentpin *ap, const char *domain)
{
    for (size_t i = 0; i < ap->n_fetched; i++)
        if (strcmp(ap->fetched[i].domain, domain) == 0)
            return &ap->fetched[i];
    if (ap->n_fetched == SYMBI_ARRAY_LEN(ap->fetched))
        return NULL;
    struct ap_fetched *f = &ap->fetched[ap->n_fetched++];
    memset(f, 0, sizeof *f);
    snprintf(f->domain, sizeof f->domain, "%s", domain);
    f->at = SYMBI_TIME_NONE;
    return f;
}

/* Checks a fetched document against the domain's pins (pinning its keys
 * on first sight) and installs its keys. */
static int install(struct symbi_agentpin *ap, const char *domain, const struct doc_keys *dk,
                   struct symbi_err *err)
{
    if (strcmp(dk->entity, domain) != 0)
        return symbi_err_set(err, SYMBI_EDENIED,
                             "the discovery document of %.100s names entity %.100s", domain,
                             dk->entity);
    bool pinned = false;
    for (size_t i = 0; i < ap->n_pins; i++)
        pinned = pinned || strcmp(ap->pins[i].domain, domain) == 0;
    for (size_t k = 0; k < dk->n && pinned; k++)
        for (size_t i = 0; i < ap->n_pins; i++)
            if (strcmp(ap->pins[i].domain, domain) == 0 &&
                strcmp(ap->pins[i].kid, dk->kid[k]) == 0 &&
                memcmp(ap->pins[i].point, dk->point[k], 65) != 0)
                return symbi_err_set(err, SYMBI_EDENIED,
                                     "the key %.100s of %.100s changed since it was pinned; "
                                     "refused",
                                     dk->kid[k], domain);
    drop_discovered(ap, domain);
    for (size_t k = 0; k < dk->n; k++) {
        bool is_pinned = !pinned;
        for (size_t i = 0; i < ap->n_pins && !is_pinned; i++)
            is_pinned =
                strcmp(ap->pins[i].domain, domain) == 0 && strcmp(ap->pins[i].kid, dk->kid[k]) == 0;
        if (!is_pinned)
            continue; /* a key the first document did not have: not trusted */
        int rc = add_key(ap, domain, dk->kid[k], dk->point[k], true, err);
        if (rc != 0)
            return rc;
        if (!pinned && ap->n_pins < SYMBI_AGENTPIN_MAX_KEYS) {
            struct ap_pin *p = &ap->pins[ap->n_pins++];
            snprintf(p->domain, sizeof p->domain, "%s", domain);
            snprintf(p->kid, sizeof p->kid, "%s", dk->kid[k]);
            memcpy(p->point, dk->point[k], 65);
        }
    }
    return 0;
}

/* Fetches and installs the domain's discovery document; f records when. */
static int discover(struct symbi_agentpin *ap, const char *domain, struct ap_fetched *f,
                    int64_t now, struct symbi_err *err)
{
    char url[400];
    snprintf(url, sizeof url, "https://%s/.well-known/agent-identity.json", domain);
    char *body = NULL;
    size_t len = 0;
    struct symbi_err e = {0};
    f->at = now;
    f->refused[0] = '\0';
    int rc = ap->fetch(ap->fetch_ud, url, ap->ca_file, ap->resolve, SYMBI_AGENTPIN_DOC_MAX, &body,
                       &len, &e);
    json_t *doc = NULL;
    struct doc_keys *dk = NULL;
    if (rc == 0) {
        json_error_t je;
        doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
        if (doc == NULL || !json_is_object(doc))
            rc = symbi_err_set(&e, SYMBI_EINVAL, "not a JSON object");
        else if ((dk = malloc(sizeof *dk)) == NULL)
            rc = symbi_err_set(&e, SYMBI_ENOMEM, "out of memory");
        else if ((rc = doc_parse(doc, dk, &e)) == 0)
            rc = install(ap, domain, dk, &e);
    }
    free(dk);
    json_decref(doc);
    free(body);
    if (rc != 0) {
        drop_discovered(ap, domain);
        snprintf(f->refused, sizeof f->refused, "discovery of %.100s failed: %.180s", domain,
                 e.msg);
        return symbi_err_set(err, SYMBI_EDENIED, "%s", f->refused);
    }
    return 0;
}

EVP_PKEY *ap_key_find(struct symbi_agentpin *ap, const char *domain, const char *kid, int64_t now,
                      bool *discovered, struct symbi_err *errp)
{
    EVP_PKEY *out = NULL;
    struct symbi_err e = {0}, *err = &e;
    pthread_mutex_lock(&ap->mu);
    struct ap_key *k = lookup(ap, domain, kid, false);
    *discovered = false;
    bool local_domain = false; /* local keys for the domain: no discovery for it */
    for (size_t i = 0; i < ap->n_keys && !local_domain; i++)
        local_domain = !ap->keys[i].discovered && strcmp(ap->keys[i].domain, domain) == 0;
    if (k == NULL && !local_domain && ap->fetch != NULL && ap->domain != NULL &&
        strcmp(domain, ap->domain) == 0) {
        struct ap_fetched *f = fetched_of(ap, domain);
        bool fresh =
            f != NULL && f->at != SYMBI_TIME_NONE && now >= f->at && now - f->at < ap->ttl_ms;
        if (f == NULL) {
            symbi_err_set(err, SYMBI_EDENIED, "too many discovered domains");
        } else if (fresh && f->refused[0] != '\0') {
            symbi_err_set(err, SYMBI_EDENIED, "%s", f->refused);
        } else if (fresh || discover(ap, domain, f, now, err) == 0) {
            k = lookup(ap, domain, kid, true);
            *discovered = true;
        }
        if (k == NULL && err->code == 0)
            symbi_err_set(err, SYMBI_EDENIED,
                          "unknown key id \"%.100s\" for %.100s (not in its pinned discovery "
                          "document)",
                          kid, domain);
    } else if (k == NULL) {
        symbi_err_set(err, SYMBI_EDENIED, "unknown key id \"%.100s\" for issuer %.100s", kid,
                      domain);
    }
    if (k != NULL && EVP_PKEY_up_ref(k->pkey) == 1)
        out = k->pkey;
    pthread_mutex_unlock(&ap->mu);
    if (out == NULL && errp != NULL)
        *errp = e.code != 0 ? e : (struct symbi_err){SYMBI_ENOMEM, "out of memory"};
    return out;
}
