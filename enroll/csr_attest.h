/* SPDX-License-Identifier: Apache-2.0 */
/* Attested CSRs: the evidence a request for a TPM key carries (TPM2_Certify of the key by the
 * IAK, bound to the request's key and subject, with the IAK certificate chain: evidence.h),
 * and the record, kept in the store, of which certificates were issued on such a request. */
#ifndef DEVID_ENROLL_CSR_ATTEST_H
#define DEVID_ENROLL_CSR_ATTEST_H

#include "error.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

/* est.attestation: when requests carry evidence. */
typedef enum enroll_attest_mode {
    ENROLL_ATTEST_AUTO = 0, /* when the device has an IAK with a certificate */
    ENROLL_ATTEST_ALWAYS,   /* always: a device without IAK certificate fails (exit 2) */
    ENROLL_ATTEST_NEVER,
} enroll_attest_mode;

/* Where the TPM key a request is for lives: a persistent handle, or a store group. */
typedef struct enroll_key_ref {
    uint32_t handle; /* 0: not a persistent key */
    const char *uid; /* store group (when handle is 0) */
} enroll_key_ref;

/* The DER value of the id-aa-evidence attribute for a request for `key` (held in the TPM
 * where `ref` says) with subject `subject`; *der = NULL (and DEVID_OK) when the request gets
 * none: mode never, no ref, or (auto) no IAK certificate. One TPM2_Certify. *der is
 * OPENSSL_malloc'd. */
devid_rc csr_attest_evidence(enroll_attest_mode mode, const enroll_key_ref *ref, EVP_PKEY *key,
                             const X509_NAME *subject, unsigned char **der, size_t *len);

/* The name of a record: the SHA-256 of the certificate (DER), hex. */
#define CSR_ATTEST_ID_LEN 64
bool csr_attest_cert_id(X509 *cert, char hex[CSR_ATTEST_ID_LEN + 1]);
/* Records that `cert` was issued on a request with evidence: an empty file
 * STORE/attested/<SHA-256 of the certificate, hex>. Keyed by the certificate, so a record
 * written before a crash never vouches for another certificate. */
devid_rc csr_attest_record(X509 *cert);
/* Whether `cert` was recorded so. */
bool csr_attest_recorded(X509 *cert);
/* Removes the record of `cert` (a certificate replaced by a renewal), if any. */
void csr_attest_forget(X509 *cert);
/* Removes every record (retire: the identities they were about are gone). */
devid_rc csr_attest_forget_all(void);

#endif
