/* SPDX-License-Identifier: Apache-2.0 */
/* Proof-of-possession (RFC 7030 3.5): the CSR's challengePassword is the base64 of the channel
 * binding of the very TLS connection it is sent on, so the server knows the key holder and the
 * TLS client are one, and a CSR copied onto another connection is refused. The binding is
 * tls-unique (RFC 5929) on TLS 1.2 and the tls-exporter (RFC 9266) on TLS 1.3.
 *
 * The binding exists only once the handshake is done: the operation's connection has one if
 * its /csrattrs request went on it and it is still open; otherwise a first request
 * (/csrattrs) makes one. Then the key signs the CSR (in the TPM, through the devid provider)
 * and it is posted on that connection; libcurl is not allowed to open another one for the
 * post. A connection the server closed in the meantime gets one more round at once (new
 * connection, new binding, newly signed CSR); a retry (202, 5xx) is a new attempt the same
 * way. */
#ifndef DEVID_ENROLL_POP_H
#define DEVID_ENROLL_POP_H

#include "est.h"

typedef struct est_pop_request {
    est_conn *conn;           /* the operation's connection (context.c) */
    est_op op;                /* EST_SIMPLEENROLL or EST_SIMPLEREENROLL */
    EVP_PKEY *key;            /* the key the certificate is for (signs the CSR) */
    const X509_NAME *subject; /* as est_build_csr */
    const X509 *like;
    int md_nid;
    const unsigned char *evidence; /* as est_build_csr (NULL: none) */
    size_t evidence_len;
} est_pop_request;

/* One attempt (an est_attempt_fn over an est_pop_request). */
devid_rc est_pop_attempt(void *request, est_reply *reply);

#endif
