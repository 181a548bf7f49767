/* SPDX-License-Identifier: Apache-2.0 */
/* The messages of the EK-attested factory exchange (docs/factory.md, "The attested
 * exchange"): the device's request (DER, built here) and the CA's answer (DER, parsed here),
 * whose certificates are sealed with AES-256-GCM under the credential. */
#ifndef ENROLL_ATTEST_MSG_H
#define ENROLL_ATTEST_MSG_H

#include "error.h"

#include <openssl/x509.h>
#include <stddef.h>

#define ATTEST_NONCE_MIN 16
#define ATTEST_NONCE_MAX 64
#define ATTEST_GCM_IV 12
#define ATTEST_GCM_TAG 16
#define ATTEST_KEY_LEN 32 /* the credential is the AES-256 key: exactly 32 bytes */

typedef struct attest_bytes {
    const unsigned char *data;
    size_t len;
} attest_bytes;

/* AttestEnrollRequest's fields, in its order. */
typedef struct attest_request {
    attest_bytes nonce;             /* the server's, as attest-nonce returned it */
    attest_bytes ek_cert;           /* DER, as read from the TPM's NV */
    attest_bytes iak_public;        /* TPMT_PUBLIC, marshalled */
    attest_bytes idevid_public;     /* TPMT_PUBLIC, marshalled */
    attest_bytes certify_info;      /* TPMS_ATTEST as the TPM signed it */
    attest_bytes certify_signature; /* TPMT_SIGNATURE, marshalled */
    attest_bytes csr;               /* PKCS#10, DER */
} attest_request;

devid_rc attest_request_encode(const attest_request *req, unsigned char **der, size_t *len);

/* AttestEnrollResponse, parsed: every buffer is malloc'd (attest_response_clear). */
typedef struct attest_response {
    unsigned char *credential_blob; /* TPM2B_ID_OBJECT, marshalled */
    size_t credential_blob_len;
    unsigned char *encrypted_secret; /* TPM2B_ENCRYPTED_SECRET, marshalled */
    size_t encrypted_secret_len;
    unsigned char iv[ATTEST_GCM_IV];
    unsigned char *sealed; /* ciphertext || 16-byte tag */
    size_t sealed_len;
} attest_response;

/* DEVID_ERR_FORMAT for anything but a version 0 AttestEnrollResponse filling `len`. */
devid_rc attest_response_parse(const unsigned char *der, size_t len, attest_response *out);
void attest_response_clear(attest_response *r);

/* Opens the sealed certificates with `key` (the activated credential) and the request's
 * nonce as additional data, and parses AttestedCertificates. DEVID_ERR_AUTH when the tag
 * does not verify, DEVID_ERR_FORMAT when the plaintext is not AttestedCertificates. */
devid_rc attest_certs_open(const unsigned char key[ATTEST_KEY_LEN], const attest_response *r,
                           const unsigned char *nonce, size_t nonce_len, X509 **iak_cert,
                           X509 **idevid_cert, STACK_OF(X509) **chain);

/* AttestedCertificates from DER (the opened plaintext). */
devid_rc attest_certs_parse(const unsigned char *der, size_t len, X509 **iak_cert,
                            X509 **idevid_cert, STACK_OF(X509) **chain);

#endif
