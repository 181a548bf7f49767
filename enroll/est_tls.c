/* SPDX-License-Identifier: Apache-2.0 */
#include "est_tls.h"

#include "log.h"
#include "revocation.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <pthread.h>

static int watch_index = -1;
static pthread_once_t watch_once = PTHREAD_ONCE_INIT;
static void watch_index_once(void)
{
    watch_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* OpenSSL's info callback: fatal alerts from the server (during the handshake, or under
 * TLS 1.3 after it, when the server has looked at our certificate). */
static void on_tls_info(const SSL *ssl, int where, int ret)
{
    if (!(where & SSL_CB_ALERT) || !(where & SSL_CB_READ) || (ret >> 8) != SSL3_AL_FATAL)
        return;
    est_tls_watch *w = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), watch_index);
    if (w)
        w->alert = ret & 0xff;
}

/* The server's certificate, once OpenSSL has verified its chain: a revoked one fails the
 * handshake, before any request (and any secret) goes out. No answer is a warning. */
static int verify_not_revoked(int ok, X509_STORE_CTX *store)
{
    if (!ok || X509_STORE_CTX_get_error_depth(store) != 0)
        return ok;
    X509 *leaf = X509_STORE_CTX_get_current_cert(store);
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(store);
    revocation_result r;
    revocation_check(leaf, chain, NULL, &r);
    if (r.status != REVOCATION_REVOKED)
        return ok;
    devid_warn("the EST server's certificate is revoked (%s %s)", r.source, r.url);
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REVOKED);
    return 0;
}

CURLcode est_tls_on_ssl_ctx(CURL *curl, void *sslctx, void *arg)
{
    (void)curl;
    const est_tls_setup *setup = arg;
    const est_client_cfg *cfg = setup->cfg;
    SSL_CTX *ctx = sslctx;
    pthread_once(&watch_once, watch_index_once);
    if (watch_index < 0 || SSL_CTX_set_ex_data(ctx, watch_index, setup->watch) != 1)
        return CURLE_SSL_CERTPROBLEM;
    SSL_CTX_set_info_callback(ctx, on_tls_info);
    if (cfg->check_revocation && !cfg->bootstrap) /* (libcurl has set the mode already) */
        SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), verify_not_revoked);
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
        return CURLE_SSL_CERTPROBLEM;
    /* no renegotiation: it would change tls-unique under a bound request */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    if (cfg->tls_key && cfg->tls_cert) {
        if (SSL_CTX_use_certificate(ctx, cfg->tls_cert) != 1 ||
            SSL_CTX_use_PrivateKey(ctx, cfg->tls_key) != 1 || SSL_CTX_check_private_key(ctx) != 1)
            return CURLE_SSL_CERTPROBLEM;
        for (int i = 0; cfg->tls_chain && i < sk_X509_num(cfg->tls_chain); i++)
            if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(cfg->tls_chain, i)) != 1)
                return CURLE_SSL_CERTPROBLEM;
    }
    return CURLE_OK;
}

void est_tls_capture(CURL *curl, est_tls_watch *w)
{
    struct curl_tlssessioninfo *info = NULL;
    w->version = 0;
    w->resumed = false;
    w->binding_len = 0;
    if (curl_easy_getinfo(curl, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK || !info ||
        info->backend != CURLSSLBACKEND_OPENSSL || !info->internals)
        return;
    SSL *ssl = info->internals;
    w->version = SSL_version(ssl);
    w->resumed = SSL_session_reused(ssl) == 1;
    if (w->version == TLS1_3_VERSION) {
        /* RFC 9266: 32 bytes, label "EXPORTER-Channel-Binding", no context */
        static const char label[] = "EXPORTER-Channel-Binding";
        if (SSL_export_keying_material(ssl, w->binding, 32, label, sizeof(label) - 1, NULL, 0, 0) ==
            1)
            w->binding_len = 32;
        return;
    }
    if (w->version != TLS1_2_VERSION)
        return;
    /* The first Finished of the latest handshake: ours in a full handshake (the client
     * finishes first), the server's in a resumed one (RFC 5929 3.1). */
    size_t n = w->resumed ? SSL_get_peer_finished(ssl, w->binding, sizeof(w->binding))
                          : SSL_get_finished(ssl, w->binding, sizeof(w->binding));
    w->binding_len = n <= sizeof(w->binding) ? n : 0;
}

X509_STORE *est_tls_verify_store(CURL *curl)
{
    struct curl_tlssessioninfo *info = NULL;
    if (curl_easy_getinfo(curl, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK || !info ||
        info->backend != CURLSSLBACKEND_OPENSSL || !info->internals)
        return NULL;
    X509_STORE *store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(info->internals));
    return store && X509_STORE_up_ref(store) == 1 ? store : NULL;
}

bool est_tls_alert_refuses_cert(int alert)
{
    switch (alert) {
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_REVOKED:
    case SSL_AD_CERTIFICATE_EXPIRED:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_UNKNOWN_CA:
    case SSL_AD_ACCESS_DENIED:
    case SSL_AD_CERTIFICATE_REQUIRED:
        return true;
    default:
        return false;
    }
}

const char *est_tls_alert_text(int alert)
{
    return SSL_alert_desc_string_long(alert);
}
