#include "context.h"
#include "subject.h"
#include "est_msg.h"
#include "fsutil.h"
#include "pop.h"

#include <openssl/crypto.h>
#include <openssl/obj_mac.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Reads a secret from its file: trailing newlines dropped. */
static devid_rc read_secret(const char *path, char **out)
{
    unsigned char *data = NULL;
    size_t len = 0;
    devid_rc rc = devid_read_file(path, 4096, &data, &len);
    if (rc != DEVID_OK)
        return rc;
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        data[--len] = '\0';
    if (memchr(data, '\n', len) || memchr(data, '\0', len)) {
        OPENSSL_cleanse(data, len);
        free(data);
        return devid_fail(DEVID_ERR_CONFIG, "%s: a secret file holds one line", path);
    }
    *out = (char *)data;
    return DEVID_OK;
}

devid_rc enroll_ctx_init(enroll_ctx *ctx, const enroll_options *opt)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->cfg = devid_core_config();
    const devid_est_config *e = &ctx->cfg->est;
    ctx->est.server = opt->server ? opt->server : e->server;
    ctx->est.label = opt->ca_label ? opt->ca_label : e->ca_label;
    ctx->est.trust_file = opt->trust ? opt->trust : e->trust_anchor;
    ctx->est.timeout = e->timeout;
    ctx->retry.max_attempts = (unsigned)e->max_attempts;
    ctx->retry.base_ms = e->retry_base_ms;
    ctx->retry.cap_ms = e->retry_cap_ms;
    if (!ctx->est.server)
        return devid_fail(DEVID_ERR_CONFIG, "no EST server: set est.server or --server");
    static const struct {
        const char *name;
        enroll_pop_mode mode;
    } pop_modes[] = { { "auto", ENROLL_POP_AUTO },
                      { "always", ENROLL_POP_ALWAYS },
                      { "never", ENROLL_POP_NEVER } };
    bool known = !e->pop;
    for (size_t i = 0; e->pop && i < sizeof(pop_modes) / sizeof(pop_modes[0]); i++)
        if (strcmp(e->pop, pop_modes[i].name) == 0) {
            ctx->pop = pop_modes[i].mode;
            known = true;
        }
    if (!known)
        return devid_fail(DEVID_ERR_CONFIG, "est.pop = %s: expected auto, always or never",
                          e->pop);
    devid_rc rc = DEVID_OK;
    if (e->username) {
        ctx->est.basic_user = e->username;
        if (e->password_file)
            rc = read_secret(e->password_file, &ctx->password);
        ctx->est.basic_pass = ctx->password;
    }
    if (rc == DEVID_OK && e->header_file) {
        rc = read_secret(e->header_file, &ctx->header);
        if (rc == DEVID_OK && !strchr(ctx->header, ':'))
            rc = devid_fail(DEVID_ERR_CONFIG, "%s: expected 'Name: value'", e->header_file);
        ctx->est.header = ctx->header;
    }
    return rc;
}

static void free_secret(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void enroll_ctx_free(enroll_ctx *ctx)
{
    free_secret(ctx->password);
    free_secret(ctx->header);
    memset(ctx, 0, sizeof(*ctx));
}

void enroll_ctx_use_tls_identity(enroll_ctx *ctx, EVP_PKEY *key, X509 *cert,
                                 STACK_OF(X509) *chain)
{
    ctx->est.tls_key = key;
    ctx->est.tls_cert = cert;
    ctx->est.tls_chain = chain;
}

/* The issued certificate must be for our key, chain to the explicit trust anchor and be
 * valid now: nothing is written otherwise. */
static devid_rc verify_issued(const enroll_ctx *ctx, X509 *leaf, STACK_OF(X509) *chain)
{
    if (!ctx->est.trust_file)
        return devid_fail(DEVID_ERR_CONFIG, "no trust anchor to verify the issued certificate");
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *vctx = X509_STORE_CTX_new();
    devid_rc rc = DEVID_OK;
    if (!store || !vctx || X509_STORE_load_file(store, ctx->est.trust_file) != 1)
        rc = devid_fail(DEVID_ERR_CONFIG, "cannot load trust anchors from %s",
                        ctx->est.trust_file);
    else if (X509_STORE_CTX_init(vctx, store, leaf, chain) != 1)
        rc = devid_fail(DEVID_ERR_INTERNAL, "certificate verification setup");
    else if (X509_verify_cert(vctx) != 1) {
        int err = X509_STORE_CTX_get_error(vctx);
        int days = 0, secs = 0;
        /* A server clock a little ahead makes a fresh certificate "not yet valid" for a few
         * seconds: accept a notBefore up to five minutes ahead by checking at that moment. */
        if (err == X509_V_ERR_CERT_NOT_YET_VALID &&
            ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notBefore(leaf)) == 1 && days == 0 &&
            secs <= 300) {
            struct tm tm;
            ASN1_TIME_to_tm(X509_get0_notBefore(leaf), &tm);
            X509_STORE_CTX_cleanup(vctx);
            if (X509_STORE_CTX_init(vctx, store, leaf, chain) == 1) {
                X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(vctx), timegm(&tm));
                if (X509_verify_cert(vctx) == 1)
                    err = X509_V_OK;
                else
                    err = X509_STORE_CTX_get_error(vctx);
            }
        }
        if (err != X509_V_OK)
            rc = devid_fail(DEVID_ERR_FORMAT, "the issued certificate does not verify: %s",
                            X509_verify_cert_error_string(err));
    }
    X509_STORE_CTX_free(vctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return rc;
}

devid_rc enroll_reply_error(const est_reply *r, const char *what)
{
    static const struct {
        devid_rc rc;
        const char *says;
    } by_outcome[] = {
        [EST_DONE] = { DEVID_OK, "answered" },
        [EST_WAIT] = { DEVID_ERR_RETRY, "kept us waiting" },
        [EST_UNAUTHORIZED] = { DEVID_ERR_AUTH, "refused our credentials" },
        [EST_TRANSIENT] = { DEVID_ERR_RETRY, "unavailable" },
        [EST_FAILED] = { DEVID_ERR_FORMAT, "request failed" },
        [EST_REFUSED] = { DEVID_ERR_AUTH, "refused our credentials (authentication refused)" },
    };
    unsigned o = (unsigned)r->outcome < sizeof(by_outcome) / sizeof(by_outcome[0])
                     ? (unsigned)r->outcome : EST_FAILED;
    return devid_fail(by_outcome[o].rc, "EST server %s%s%s: %s (%s)", by_outcome[o].says,
                      what ? ", " : "", what ? what : "", r->detail, est_outcome_name(r->outcome));
}

devid_rc enroll_get_cert(enroll_ctx *ctx, est_op op, EVP_PKEY *key, const X509_NAME *subject,
                         const X509 *like, X509 **leaf, STACK_OF(X509) **chain)
{
    if (ctx->pop == ENROLL_POP_AUTO && !ctx->wishes_fetched)
        enroll_fetch_wishes(ctx);
    bool pop = ctx->pop == ENROLL_POP_ALWAYS ||
               (ctx->pop == ENROLL_POP_AUTO && ctx->wishes.challenge_password);
    est_reply reply;
    devid_rc rc;
    if (pop) {
        est_pop_request r = { &ctx->est, op, key, subject, like, ctx->wishes.md_nid };
        rc = est_retry_run(&ctx->retry, "enroll (proof-of-possession)", est_pop_attempt, &r,
                           &reply);
    } else {
        unsigned char *csr = NULL;
        size_t csr_len = 0;
        rc = est_build_csr(key, subject, like, ctx->wishes.md_nid, NULL, &csr, &csr_len);
        if (rc != DEVID_OK)
            return rc;
        rc = est_request_retry(&ctx->est, &ctx->retry, op, csr, csr_len, &reply);
        OPENSSL_free(csr);
    }
    if (rc != DEVID_OK)
        return rc;
    if (reply.outcome != EST_DONE) {
        rc = enroll_reply_error(&reply, NULL);
        est_reply_clear(&reply);
        return rc;
    }
    X509 *mine = est_find_cert_for_key(reply.certs, key);
    if (!mine) {
        est_reply_clear(&reply);
        return devid_fail(DEVID_ERR_FORMAT,
                          "the EST server returned no certificate for our public key");
    }
    STACK_OF(X509) *cas = sk_X509_new_null();
    for (int i = 0; cas && i < sk_X509_num(reply.certs); i++) {
        X509 *c = sk_X509_value(reply.certs, i);
        if (c != mine && X509_up_ref(c) && !sk_X509_push(cas, c))
            X509_free(c);
    }
    X509_up_ref(mine);
    est_reply_clear(&reply);
    rc = cas ? verify_issued(ctx, mine, cas) : devid_fail(DEVID_ERR_MEMORY, "chain");
    if (rc != DEVID_OK) {
        X509_free(mine);
        sk_X509_pop_free(cas, X509_free);
        return rc;
    }
    *leaf = mine;
    *chain = cas;
    return DEVID_OK;
}

devid_rc enroll_write_chain(const char *path, X509 *leaf, STACK_OF(X509) *chain)
{
    BIO *bio = BIO_new(BIO_s_mem());
    devid_rc rc = bio && PEM_write_bio_X509(bio, leaf) == 1 ? DEVID_OK : DEVID_ERR_MEMORY;
    for (int i = 0; rc == DEVID_OK && chain && i < sk_X509_num(chain); i++)
        if (PEM_write_bio_X509(bio, sk_X509_value(chain, i)) != 1)
            rc = DEVID_ERR_MEMORY;
    char *data = NULL;
    long len = bio ? BIO_get_mem_data(bio, &data) : 0;
    if (rc == DEVID_OK)
        rc = devid_write_file_atomic(path, data, (size_t)len, 0644);
    else
        devid_fail(rc, "encoding %s", path);
    BIO_free(bio);
    return rc;
}

devid_rc enroll_parse_subject(const char *text, X509_NAME **out)
{
    return enroll_subject_parse(text, out);
}

void enroll_fetch_wishes(enroll_ctx *ctx)
{
    est_reply reply;
    memset(&ctx->wishes, 0, sizeof(ctx->wishes));
    ctx->wishes.md_nid = NID_undef;
    ctx->wishes_fetched = true;
    if (est_request(&ctx->est, EST_CSRATTRS, NULL, 0, &reply) != DEVID_OK)
        return;
    if (reply.outcome == EST_DONE && reply.csrattrs &&
        est_parse_csrattrs(reply.csrattrs, reply.csrattrs_len, &ctx->wishes) == DEVID_OK) {
        if (ctx->wishes.challenge_password && ctx->pop == ENROLL_POP_NEVER)
            devid_warn("the EST server asks for proof-of-possession (challengePassword with "
                       "tls-unique), which est.pop = never leaves out");
        else if (ctx->wishes.challenge_password)
            devid_info("/csrattrs asks for proof-of-possession: requests go with tls-unique "
                       "over TLS 1.2");
        if (ctx->wishes.ignored)
            devid_info("/csrattrs: %d item(s) not acted on", ctx->wishes.ignored);
    } else {
        devid_debug("/csrattrs: %s (%s): no wishes", est_outcome_name(reply.outcome),
                    reply.detail);
    }
    est_reply_clear(&reply);
}

void enroll_key_choice(const enroll_ctx *ctx, bool rsa, devid_key_type *type, int *curve_nid,
                       int *bits)
{
    const est_csr_wishes *w = &ctx->wishes;
    *type = rsa ? DEVID_KEY_RSA : DEVID_KEY_EC;
    *curve_nid = NID_X9_62_prime256v1;
    *bits = 2048;
    if (w->key_type == EVP_PKEY_EC && (w->curve_nid == NID_X9_62_prime256v1 ||
                                       w->curve_nid == NID_secp384r1)) {
        *type = DEVID_KEY_EC;
        *curve_nid = w->curve_nid;
    } else if (w->key_type == EVP_PKEY_RSA) {
        *type = DEVID_KEY_RSA;
        if (w->rsa_bits == 3072 || w->rsa_bits == 4096)
            *bits = w->rsa_bits;
    } else if (w->key_type) {
        devid_warn("/csrattrs asks for a key devid cannot make; using %s",
                   rsa ? "RSA 2048" : "EC P-256");
    }
}
