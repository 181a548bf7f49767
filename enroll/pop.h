/* Proof-of-possession (RFC 7030 3.5): the CSR's challengePassword is the base64 of the
 * tls-unique channel binding (RFC 5929) of the very TLS connection it is sent on, so the
 * server knows the key holder and the TLS client are one, and a CSR copied onto another
 * connection is refused.
 *
 * The binding exists only once the handshake is done, so each attempt opens a connection
 * (capped at TLS 1.2: TLS 1.3 defines no tls-unique), makes a first request on it
 * (/csrattrs), reads the binding, has the key sign the CSR (in the TPM, through the devid
 * provider) and posts it on the same connection; libcurl is not allowed to open another
 * one for the post. A retry (202, 5xx) is a new attempt: new connection, new binding, newly
 * signed CSR. */
#ifndef DEVID_ENROLL_POP_H
#define DEVID_ENROLL_POP_H

#include "est.h"

typedef struct est_pop_request {
    const est_client_cfg *cfg;
    est_op op;                      /* EST_SIMPLEENROLL or EST_SIMPLEREENROLL */
    EVP_PKEY *key;                  /* the key the certificate is for (signs the CSR) */
    const X509_NAME *subject;       /* as est_build_csr */
    const X509 *like;
    int md_nid;
} est_pop_request;

/* One attempt (an est_attempt_fn over an est_pop_request). */
devid_rc est_pop_attempt(void *request, est_reply *reply);

#endif
