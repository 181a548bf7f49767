/* SPDX-License-Identifier: Apache-2.0 */
/* The TLS side of an EST connection (OpenSSL under libcurl): the client identity held in the
 * TPM, the protocol versions, the alerts the server sent, and the channel binding that
 * proof-of-possession puts into a CSR (RFC 7030 3.5): tls-unique (RFC 5929) on TLS 1.2, the
 * tls-exporter (RFC 9266) on TLS 1.3.
 *
 * libcurl creates one SSL_CTX per connection and calls est_tls_on_ssl_ctx for it; a watch
 * attached to that SSL_CTX records what the TLS layer saw, so est.c can tell "the server
 * refused our client certificate" (a fatal certificate alert, which under TLS 1.3 arrives
 * only at the first read, after the handshake) from "the server is unavailable". */
#ifndef DEVID_EST_TLS_H
#define DEVID_EST_TLS_H

#include "est.h"

#include <curl/curl.h>
#include <openssl/x509_vfy.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct est_tls_watch {
    int alert;                 /* last fatal alert received (SSL_AD_*), -1: none */
    int version;               /* negotiated version (TLS1_2_VERSION, ...), 0: unknown */
    bool resumed;              /* the connection resumed an earlier TLS session */
    unsigned char binding[64]; /* tls-unique (TLS 1.2: the first Finished message) or
                                      tls-exporter (TLS 1.3: 32 exported bytes) */
    size_t binding_len;        /* 0: none */
} est_tls_watch;

typedef struct est_tls_setup {
    const est_client_cfg *cfg;
    est_tls_watch *watch;
} est_tls_setup;

/* CURLOPT_SSL_CTX_FUNCTION; its data is an est_tls_setup that outlives the connection. */
CURLcode est_tls_on_ssl_ctx(CURL *curl, void *sslctx, void *setup);

/* Records the connection's version, resumption and channel binding into w. Only valid during a transfer
 * (libcurl's SSL pointer belongs to the connection in use): call it from a callback. */
void est_tls_capture(CURL *curl, est_tls_watch *w);

/* The trust store the connection in use verifies the server with (a new reference), NULL if
 * none. Only valid during a transfer, as est_tls_capture. */
X509_STORE *est_tls_verify_store(CURL *curl);

/* True for the fatal alerts by which a server refuses the client's certificate (expired,
 * revoked, unknown CA, bad, required but absent, access denied). */
bool est_tls_alert_refuses_cert(int alert);

/* "certificate expired" and friends. */
const char *est_tls_alert_text(int alert);

#endif
