/* SPDX-License-Identifier: Apache-2.0 */
/* An EST client (RFC 7030) over libcurl: one request, one classified reply. Retries and
 * backoff live in retry.h; what to enroll and where the result goes in the commands.
 *
 * Server authentication is strict: an explicit trust anchor file (and optionally the system
 * store), RFC 6125 host name check, https only, no redirects followed (a redirect is reported,
 * never obeyed: it could lead the device's credentials to another origin). The one exception
 * is the bootstrap /cacerts request, made without server authentication and checked by the
 * caller against a configured fingerprint (RFC 7030 4.1.1).
 *
 * Secrets (the HTTP password, the header secret) never go with /cacerts, which needs none
 * (RFC 7030 4.1): so the bootstrap request carries none either. Which requests carry them
 * otherwise is the caller's decision (context.c: credentials are scoped to a phase and a
 * server).
 *
 * HTTP 401 is final: a wrong password retried counts against an account lockout. The one
 * exception is a Basic password sent unasked that the server refuses while offering only
 * Digest: then one more attempt, with Digest.
 */
#ifndef DEVID_EST_H
#define DEVID_EST_H

#include "error.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>

/* The client's name in every HTTP request it makes (EST, and the OCSP and CRL fetches of
 * revocation.h): "devid-enroll/<project version>"; DEVID_ENROLL_VERSION comes from the build. */
#define EST_USER_AGENT "devid-enroll/" DEVID_ENROLL_VERSION

/* How the HTTP password is offered. */
typedef enum est_auth_mode {
    EST_AUTH_BASIC = 0, /* HTTP Basic with the request (Digest if the server asks only that) */
    EST_AUTH_DIGEST,    /* HTTP Digest (RFC 7616), on the server's challenge */
    EST_AUTH_ANY,       /* nothing until the server's 401 names a scheme (Digest preferred) */
} est_auth_mode;

typedef struct est_client_cfg {
    const char *server;     /* "https://host[:port]" (/.well-known/est is appended) */
    const char *label;      /* optional CA label path segment */
    const char *trust_file; /* PEM trust anchors for the server's certificate */
    const char *trust_pem;  /* ... or the anchors themselves, PEM text (instead of a file) */
    bool system_trust;      /* also trust the system store */
    bool check_revocation;  /* check the server certificate's revocation status in the
                                   handshake (OCSP or CRL, revocation.h): revoked fails it */
    bool bootstrap;         /* unauthenticated server: /cacerts only */
    long timeout;           /* seconds per request (default 30) */
    /* client authentication, any combination */
    EVP_PKEY *tls_key; /* TLS client key (a TPM key through the devid provider) */
    X509 *tls_cert;
    STACK_OF(X509) *tls_chain;
    const char *basic_user, *basic_pass; /* the HTTP credentials (Basic or Digest) */
    est_auth_mode auth;
    const char *header; /* an extra "Name: value" header carrying a secret */
} est_client_cfg;

/* EST_ATTEST_*: the EK-attested factory exchange (docs/factory.md "The attested exchange"):
 * a GET of a fresh nonce, then a POST of the evidence; both answers are base64 DER. */
typedef enum est_op {
    EST_CACERTS,
    EST_SIMPLEENROLL,
    EST_SIMPLEREENROLL,
    EST_CSRATTRS,
    EST_ATTEST_NONCE,
    EST_ATTEST_ENROLL
} est_op;

typedef enum est_outcome {
    EST_DONE = 0,     /* 200 (or 204 for csrattrs) with a well-formed body */
    EST_WAIT,         /* 202: try again after retry_after seconds, with the same request */
    EST_UNAUTHORIZED, /* 401 */
    EST_TRANSIENT,    /* 5xx, time-out, connection trouble, truncated reply: retry later */
    EST_FAILED,       /* anything else: rejected request, bad reply, redirect, TLS failure */
    EST_REFUSED,      /* the server refused our TLS client certificate (a fatal TLS alert:
                         expired, unknown CA, revoked...): not retried */
} est_outcome;

typedef struct est_reply {
    est_outcome outcome;
    long http_status;        /* 0 if no HTTP answer */
    long retry_after;        /* seconds from now, -1 if the server sent none */
    unsigned auth_offered;   /* 401: the schemes the server offered (EST_SCHEME_*) */
    char detail[512];        /* why, for logs and errors (never secrets) */
    bool not_sent;           /* a bound request whose connection had closed: not sent */
    STACK_OF(X509) *certs;   /* EST_DONE for cacerts / (re)enroll */
    unsigned char *csrattrs; /* EST_DONE for csrattrs: DER (NULL on 204); for the
                                   EST_ATTEST_* operations: the decoded body */
    size_t csrattrs_len;
} est_reply;

/* Performs one request on a connection of its own. Returns DEVID_OK when the exchange was
 * classified (see reply->outcome), an error only for local failures (memory, bad
 * configuration). */
devid_rc est_request(const est_client_cfg *cfg, est_op op, const unsigned char *csr_der,
                     size_t csr_len, est_reply *reply);

/* An EST client session: requests on one TLS connection (libcurl keeps it open between them)
 * while the server allows, new connections resuming the TLS session of the earlier ones
 * (libcurl's session cache lives as long as the est_conn, so one est_conn must serve one TLS
 * client identity only). An operation (/csrattrs, then the POST) uses one connection, closed
 * after its last request: no TLS state holding the client key outlives the operation.
 * Proof-of-possession needs this: the CSR carries the channel binding of the connection it is
 * sent on, so it can only be built once that connection's handshake is done. */
typedef struct est_conn est_conn;

/* cfg must outlive the connection. */
devid_rc est_conn_open(const est_client_cfg *cfg, est_conn **out);

enum {
    EST_REQ_BOUND = 1, /* must go on the connection the previous request used; libcurl may not
                          open another (the request then fails as EST_TRANSIENT, saying so,
                          and was not sent) */
    EST_REQ_LAST = 2,  /* the operation's last request: the connection is closed after it */
};

/* One request on the connection; flags: EST_REQ_*. */
devid_rc est_conn_request(est_conn *conn, est_op op, const unsigned char *csr_der, size_t csr_len,
                          unsigned flags, est_reply *reply);

/* The channel binding of the connection the last request went on: tls-unique (RFC 5929) on
 * TLS 1.2, tls-exporter (RFC 9266) on TLS 1.3, and its TLS version (TLS1_2_VERSION...).
 * *len is 0 when it has none. */
void est_conn_binding(const est_conn *conn, const unsigned char **data, size_t *len, int *version);

/* Whether the connection the last request went on is still open (a bound request can go). */
bool est_conn_alive(est_conn *conn);

/* Connections made so far, and of them full TLS handshakes and resumed sessions. */
void est_conn_counts(const est_conn *conn, unsigned *connections, unsigned *full,
                     unsigned *resumed);

/* The trust anchors the connection verified the server with, if they are exactly those of
 * trust_file (borrowed, valid until est_conn_close), else NULL: then read the file. */
X509_STORE *est_conn_trust_anchors(const est_conn *conn, const char *trust_file);

void est_conn_close(est_conn *conn);
void est_reply_clear(est_reply *reply);

const char *est_outcome_name(est_outcome o);

#endif
