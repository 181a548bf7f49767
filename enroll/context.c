/* SPDX-License-Identifier: Apache-2.0 */
#include "context.h"
#include "clock_hint.h"
#include "subject.h"
#include "est_msg.h"
#include "fsutil.h"
#include "pop.h"

#include "log.h"

#include <ctype.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/obj_mac.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Reads a secret from its file (the setting `key` names it): trailing newlines dropped. */
static devid_rc read_secret(const char *key, const char *path, char **out)
{
    unsigned char *data = NULL;
    size_t len = 0;
    char what[8400];
    const char *conf = devid_core_config()->path;
    snprintf(what, sizeof(what), "%s %s (in %s)", key, path, conf ? conf : "devid.conf");
    devid_rc rc = devid_read_secret_file(path, what, 4096, &data, &len);
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

static devid_rc scope_credentials(enroll_ctx *ctx);

devid_rc enroll_ctx_init(enroll_ctx *ctx, const enroll_options *opt)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->cfg = devid_core_config();
    ctx->tpm_commands_at_start = devid_tpm_command_count();
    ctx->tpm_ns_at_start = devid_tpm_command_ns();
    devid_fs_sync_stats(&ctx->syncs_at_start, &ctx->sync_ns_at_start);
    devid_rc rc = enroll_config_get(&ctx->conf);
    if (rc != DEVID_OK)
        return rc;
    const enroll_est_config *e = &ctx->conf->est;
    ctx->est.server = opt->server ? opt->server : e->server;
    ctx->est.label = opt->ca_label ? opt->ca_label : e->ca_label;
    ctx->est.trust_file = opt->trust ? opt->trust : e->trust_anchor;
    ctx->est.timeout = e->timeout;
    ctx->est.check_revocation = e->check_server_revocation &&
                                strcmp(e->check_server_revocation, "yes") == 0;
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
        return devid_fail(DEVID_ERR_CONFIG, "est.pop = %s: expected auto, always or never", e->pop);
    known = !e->attestation;
    for (size_t i = 0; e->attestation && i < sizeof(pop_modes) / sizeof(pop_modes[0]); i++)
        if (strcmp(e->attestation, pop_modes[i].name) == 0) {
            /* (the same three words, in the same order) */
            ctx->attest = (enroll_attest_mode)pop_modes[i].mode;
            known = true;
        }
    if (!known)
        return devid_fail(DEVID_ERR_CONFIG,
                          "est.attestation = %s: expected auto, always or "
                          "never",
                          e->attestation);
    static const struct {
        const char *name;
        est_auth_mode mode;
    } auth_modes[] = { { "basic", EST_AUTH_BASIC },
                       { "digest", EST_AUTH_DIGEST },
                       { "any", EST_AUTH_ANY } };
    for (size_t i = 0; e->auth && i < sizeof(auth_modes) / sizeof(auth_modes[0]); i++)
        if (strcmp(e->auth, auth_modes[i].name) == 0)
            ctx->est.auth = auth_modes[i].mode;
    if (e->username && e->password_file)
        rc = read_secret("est.password_file", e->password_file, &ctx->password);
    if (rc == DEVID_OK && e->header_file) {
        rc = read_secret("est.header_file", e->header_file, &ctx->header);
        if (rc == DEVID_OK && !strchr(ctx->header, ':'))
            rc = devid_fail(DEVID_ERR_CONFIG, "%s: expected 'Name: value'", e->header_file);
    }
    if (rc == DEVID_OK)
        rc = scope_credentials(ctx);
    return rc;
}

/* scheme://host:port of an https URL, lower case, the default port filled in. */
static bool url_origin(const char *url, char *out, size_t len)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK;
    if (ok)
        ok = (size_t)snprintf(out, len, "https://%s:%s", host, port) < len;
    for (char *p = out; ok && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return ok;
}

/* What the next requests may carry: the credentials go only in their phase (with or without a
 * TLS client certificate) and, if one is named, only to their server. */
static devid_rc scope_credentials(enroll_ctx *ctx)
{
    if (!ctx->conf)
        return DEVID_OK; /* (enroll_ctx_init failed: nothing is sent) */
    const enroll_est_config *e = &ctx->conf->est;
    bool with_cert = ctx->est.tls_key && ctx->est.tls_cert;
    const char *scope = e->credentials_for ? e->credentials_for : "factory";
    bool phase = strcmp(scope, "both") == 0 || (strcmp(scope, "owner") == 0) == with_cert;
    bool server = true;
    if (phase && e->credentials_server && ctx->est.server) {
        char want[512], have[512];
        if (!url_origin(e->credentials_server, want, sizeof(want)))
            return devid_fail(DEVID_ERR_CONFIG, "est.credentials_server: '%s' is not a URL",
                              e->credentials_server);
        server = url_origin(ctx->est.server, have, sizeof(have)) && strcmp(want, have) == 0;
    }
    bool send = phase && server;
    ctx->est.basic_user = send && ctx->password ? e->username : NULL;
    ctx->est.basic_pass = send ? ctx->password : NULL;
    ctx->est.header = send ? ctx->header : NULL;
    if (!send && (ctx->password || ctx->header))
        devid_debug("EST credentials held back: configured for %s%s%s", scope,
                    e->credentials_server ? " at " : "",
                    e->credentials_server ? e->credentials_server : "");
    return DEVID_OK;
}

static void free_secret(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

/* Folds the session's counts into the run's and closes it. */
static void close_conn(enroll_ctx *ctx)
{
    if (!ctx->conn)
        return;
    unsigned n = 0, full = 0, resumed = 0;
    est_conn_counts(ctx->conn, &n, &full, &resumed);
    ctx->connections += n;
    ctx->full_handshakes += full;
    ctx->resumed += resumed;
    est_conn_close(ctx->conn);
    ctx->conn = NULL;
}

/* The session for the current TLS client identity: a new one when the identity changed (a
 * resumed TLS session would present the old identity's certificate). */
static devid_rc ctx_conn(enroll_ctx *ctx, est_conn **out)
{
    unsigned char id[32] = { 0 };
    unsigned int n = 0;
    if (ctx->est.tls_cert &&
        (X509_digest(ctx->est.tls_cert, EVP_sha256(), id, &n) != 1 || n != sizeof(id)))
        return devid_fail(DEVID_ERR_INTERNAL, "client certificate digest");
    if (ctx->conn && memcmp(id, ctx->conn_identity, sizeof(id)) != 0)
        close_conn(ctx);
    if (!ctx->conn) {
        devid_rc rc = est_conn_open(&ctx->est, &ctx->conn);
        if (rc != DEVID_OK)
            return rc;
        memcpy(ctx->conn_identity, id, sizeof(id));
    }
    *out = ctx->conn;
    return DEVID_OK;
}

void enroll_ctx_free(enroll_ctx *ctx)
{
    close_conn(ctx);
    if (ctx->connections) {
        /* the times are what a benchmark sets apart from the run's wall time: the TPM's (and
         * tpm2-tss's) share, and the durable writes' */
        unsigned syncs = 0;
        uint64_t sync_ns = 0;
        devid_fs_sync_stats(&syncs, &sync_ns);
        devid_info("EST: %u TLS connection(s): %u full handshake(s), %u resumed; %llu TPM "
                   "command(s) in this run (%.2f ms), %u fsync(s) (%.2f ms)",
                   ctx->connections, ctx->full_handshakes, ctx->resumed,
                   (unsigned long long)devid_tpm_command_count() - ctx->tpm_commands_at_start,
                   (double)(devid_tpm_command_ns() - ctx->tpm_ns_at_start) / 1e6,
                   syncs - ctx->syncs_at_start, (double)(sync_ns - ctx->sync_ns_at_start) / 1e6);
    }
    free_secret(ctx->password);
    free_secret(ctx->header);
    memset(ctx, 0, sizeof(*ctx));
}

void enroll_ctx_use_tls_identity(enroll_ctx *ctx, EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain)
{
    ctx->est.tls_key = key;
    ctx->est.tls_cert = cert;
    ctx->est.tls_chain = chain;
    scope_credentials(ctx); /* (its one error, a bad URL, was reported by enroll_ctx_init) */
}

/* The issued certificate must be for our key, chain to the explicit trust anchor and be
 * valid now: nothing is written otherwise. */
/* Every certificate and CRL of `from` into `to` (the objects are shared, not parsed again);
 * false if `from` has none (then the file is read). */
static bool copy_anchors(X509_STORE *from, X509_STORE *to)
{
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(from);
    int n = 0;
    for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
        X509_OBJECT *o = sk_X509_OBJECT_value(objs, i);
        X509 *cert = X509_OBJECT_get0_X509(o);
        X509_CRL *crl = X509_OBJECT_get0_X509_CRL(o);
        if ((cert && X509_STORE_add_cert(to, cert) != 1) ||
            (crl && X509_STORE_add_crl(to, crl) != 1))
            return false;
        n += cert != NULL;
    }
    return n > 0;
}

static devid_rc verify_issued(const enroll_ctx *ctx, X509 *leaf, STACK_OF(X509) *chain)
{
    if (!ctx->est.trust_file)
        return devid_fail(DEVID_ERR_CONFIG, "no trust anchor to verify the issued certificate");
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *vctx = X509_STORE_CTX_new();
    devid_rc rc = DEVID_OK;
    /* the anchors of the connection the certificate came on, if that is the file: a store of
     * its own all the same (without the flags libcurl set on the connection's) */
    X509_STORE *seen = est_conn_trust_anchors(ctx->conn, ctx->est.trust_file);
    if (!store || !vctx ||
        (!(seen && copy_anchors(seen, store)) &&
         X509_STORE_load_file(store, ctx->est.trust_file) != 1))
        rc = devid_fail(DEVID_ERR_CONFIG, "cannot load trust anchors from %s", ctx->est.trust_file);
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
        if (err != X509_V_OK) {
            char why[400];
            snprintf(why, sizeof(why), "%s", X509_verify_cert_error_string(err));
            clock_hint_append(why, sizeof(why), err);
            rc = devid_fail(DEVID_ERR_FORMAT, "the issued certificate does not verify: %s", why);
        }
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
                     ? (unsigned)r->outcome
                     : EST_FAILED;
    return devid_fail(by_outcome[o].rc, "EST server %s%s%s: %s (%s)", by_outcome[o].says,
                      what ? ", " : "", what ? what : "", r->detail, est_outcome_name(r->outcome));
}

typedef struct {
    est_conn *conn;
    est_op op;
    const unsigned char *csr;
    size_t csr_len;
} conn_request;

/* One attempt of a POST without proof-of-possession: on the operation's connection if the
 * server kept it open, else on a new one (resuming the TLS session); closed after it. */
static devid_rc conn_attempt(void *arg, est_reply *reply)
{
    const conn_request *r = arg;
    return est_conn_request(r->conn, r->op, r->csr, r->csr_len, EST_REQ_LAST, reply);
}

devid_rc enroll_get_cert(enroll_ctx *ctx, est_op op, EVP_PKEY *key, const enroll_key_ref *tpm_key,
                         const X509_NAME *subject, const X509 *like, X509 **leaf,
                         STACK_OF(X509) **chain)
{
    devid_rc src = scope_credentials(ctx); /* the identity may have changed under us */
    if (src != DEVID_OK)
        return src;
    if (ctx->pop == ENROLL_POP_AUTO && !ctx->wishes_fetched)
        enroll_fetch_wishes(ctx);
    bool pop = ctx->pop == ENROLL_POP_ALWAYS ||
               (ctx->pop == ENROLL_POP_AUTO && ctx->wishes.challenge_password);
    est_reply reply;
    est_conn *conn = NULL;
    /* the evidence once per request: every attempt carries the same (it is bound to the key
     * and subject, not to the connection) */
    unsigned char *evidence = NULL;
    size_t evidence_len = 0;
    devid_rc rc = csr_attest_evidence(ctx->attest, tpm_key, key,
                                      like ? X509_get_subject_name(like) : subject, &evidence,
                                      &evidence_len);
    if (rc == DEVID_OK)
        rc = ctx_conn(ctx, &conn);
    if (rc == DEVID_OK && pop) {
        est_pop_request r = { conn,     op,          key, subject, like, ctx->wishes.md_nid,
                              evidence, evidence_len };
        rc = est_retry_run(&ctx->retry, "enroll (proof-of-possession)", est_pop_attempt, &r,
                           &reply);
    } else if (rc == DEVID_OK) {
        unsigned char *csr = NULL;
        size_t csr_len = 0;
        rc = est_build_csr(key, subject, like, ctx->wishes.md_nid, NULL, evidence, evidence_len,
                           &csr, &csr_len);
        conn_request r = { conn, op, csr, csr_len };
        if (rc == DEVID_OK)
            rc = est_retry_run(&ctx->retry, "enroll", conn_attempt, &r, &reply);
        OPENSSL_free(csr);
    }
    OPENSSL_free(evidence);
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
    /* before the caller stores the certificate: a record is keyed by the certificate, so
     * one left by a crash here vouches for nothing else */
    if (evidence_len && (rc = csr_attest_record(mine)) != DEVID_OK) {
        X509_free(mine);
        sk_X509_pop_free(cas, X509_free);
        return rc;
    }
    *leaf = mine;
    *chain = cas;
    return DEVID_OK;
}

static devid_rc write_chain(const char *path, X509 *leaf, STACK_OF(X509) *chain, bool batched)
{
    BIO *bio = BIO_new(BIO_s_mem());
    devid_rc rc = bio && PEM_write_bio_X509(bio, leaf) == 1 ? DEVID_OK : DEVID_ERR_MEMORY;
    for (int i = 0; rc == DEVID_OK && chain && i < sk_X509_num(chain); i++)
        if (PEM_write_bio_X509(bio, sk_X509_value(chain, i)) != 1)
            rc = DEVID_ERR_MEMORY;
    char *data = NULL;
    long len = bio ? BIO_get_mem_data(bio, &data) : 0;
    if (rc == DEVID_OK && batched)
        rc = devid_write_file_atomic_batched(path, data, (size_t)len, 0644);
    else if (rc == DEVID_OK)
        rc = devid_write_file_atomic(path, data, (size_t)len, 0644);
    else
        devid_fail(rc, "encoding %s", path);
    BIO_free(bio);
    return rc;
}

devid_rc enroll_write_chain(const char *path, X509 *leaf, STACK_OF(X509) *chain)
{
    return write_chain(path, leaf, chain, false);
}

devid_rc enroll_write_chain_batched(const char *path, X509 *leaf, STACK_OF(X509) *chain)
{
    const char *store = devid_core_config()->store;
    size_t n = store ? strlen(store) : 0;
    bool in_store = n && strncmp(path, store, n) == 0 && path[n] == '/' &&
                    !strchr(path + n + 1, '/');
    return write_chain(path, leaf, chain, in_store);
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
    est_conn *conn = NULL;
    if (scope_credentials(ctx) != DEVID_OK || ctx_conn(ctx, &conn) != DEVID_OK)
        return;
    /* on the operation's connection: the POST follows on it */
    if (est_conn_request(conn, EST_CSRATTRS, NULL, 0, 0, &reply) != DEVID_OK)
        return;
    if (reply.outcome == EST_DONE && reply.csrattrs &&
        est_parse_csrattrs(reply.csrattrs, reply.csrattrs_len, &ctx->wishes) == DEVID_OK) {
        if (ctx->wishes.challenge_password && ctx->pop == ENROLL_POP_NEVER)
            devid_warn("the EST server asks for proof-of-possession (challengePassword with "
                       "the channel binding), which est.pop = never leaves out");
        else if (ctx->wishes.challenge_password)
            devid_info("/csrattrs asks for proof-of-possession: CSRs carry the connection's "
                       "channel binding (tls-unique on TLS 1.2, tls-exporter on TLS 1.3)");
        if (ctx->wishes.ignored)
            devid_info("/csrattrs: %d item(s) not acted on", ctx->wishes.ignored);
    } else {
        devid_debug("/csrattrs: %s (%s): no wishes", est_outcome_name(reply.outcome), reply.detail);
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
    if (w->key_type == EVP_PKEY_EC &&
        (w->curve_nid == NID_X9_62_prime256v1 || w->curve_nid == NID_secp384r1)) {
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

devid_rc enroll_ctx_conn(enroll_ctx *ctx, est_conn **out)
{
    devid_rc rc = scope_credentials(ctx);
    return rc == DEVID_OK ? ctx_conn(ctx, out) : rc;
}

devid_rc enroll_verify_issued(const enroll_ctx *ctx, X509 *leaf, STACK_OF(X509) *chain)
{
    return verify_issued(ctx, leaf, chain);
}
