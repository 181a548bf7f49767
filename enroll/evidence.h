/* SPDX-License-Identifier: Apache-2.0 */
/* TPM evidence in a PKCS#10 request, as the IETF LAMPS draft "Use of Remote Attestation with
 * Certification Signing Requests" (draft-ietf-lamps-csr-attestation) carries it: the
 * attribute id-aa-evidence (1.2.840.113549.1.9.16.2.59) whose value is
 *
 *   EvidenceBundles ::= SEQUENCE SIZE (1..MAX) OF EvidenceBundle
 *   EvidenceBundle ::= SEQUENCE {
 *       evidences SEQUENCE SIZE (1..MAX) OF EvidenceStatement,
 *       certs     SEQUENCE SIZE (1..MAX) OF CertificateChoices OPTIONAL }
 *   EvidenceStatement ::= SEQUENCE { type OBJECT IDENTIFIER, stmt ANY, hint UTF8String OPTIONAL }
 *
 * with one statement of the draft's TPM type tcg-attest-tpm-certify (2.23.133.20.1):
 *
 *   SEQUENCE { tpmSAttest OCTET STRING, signature OCTET STRING, tpmTPublic OCTET STRING }
 *
 * devid fills them with TPM2_Certify's TPMS_ATTEST (as signed), its TPMT_SIGNATURE and the
 * certified key's TPMT_PUBLIC, each marshalled as the TPM does (no TPM2B size prefix), and
 * certs with the IAK certificate first, then its CA chain. The qualifying data (extraData) is
 * evidence_qualifying_data below. Pure functions over OpenSSL: fuzzed and unit-tested. */
#ifndef DEVID_ENROLL_EVIDENCE_H
#define DEVID_ENROLL_EVIDENCE_H

#include "error.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>

#define EVIDENCE_ATTRIBUTE_OID "1.2.840.113549.1.9.16.2.59" /* id-aa-evidence */
#define EVIDENCE_TPM_CERTIFY_OID "2.23.133.20.1"            /* tcg-attest-tpm-certify */
#define EVIDENCE_QUALIFYING_LEN 32

/* The TPM2_Certify triple (borrowed buffers when encoding, owned when decoded). */
typedef struct evidence_tpm_certify {
    unsigned char *attest; /* TPMS_ATTEST */
    size_t attest_len;
    unsigned char *signature; /* TPMT_SIGNATURE */
    size_t signature_len;
    unsigned char *public_area; /* TPMT_PUBLIC of the certified key */
    size_t public_len;
} evidence_tpm_certify;

/* The qualifying data a CSR's evidence is bound to: SHA-256 over the DER SubjectPublicKeyInfo
 * of `key` followed by the DER Name `subject`, exactly as both appear in the request's
 * CertificationRequestInfo (the parts of the request that do not contain the evidence). */
devid_rc evidence_qualifying_data(EVP_PKEY *key, const X509_NAME *subject,
                                  unsigned char out[EVIDENCE_QUALIFYING_LEN]);

/* The DER of the attribute's value (EvidenceBundles) for one TPM2_Certify statement and its
 * certificates: `iak_cert` first, then `chain` (may be NULL). *der is OPENSSL_malloc'd. */
devid_rc evidence_encode(const evidence_tpm_certify *certify, X509 *iak_cert, STACK_OF(X509) *chain,
                         unsigned char **der, size_t *len);

/* Parses an attribute value (EvidenceBundles): the first tcg-attest-tpm-certify statement and
 * the certificates of its bundle (*certs: never NULL on success, maybe empty).
 * DEVID_ERR_FORMAT when it is not well-formed DER of that shape or has no such statement. */
devid_rc evidence_decode(const unsigned char *der, size_t len, evidence_tpm_certify *certify,
                         STACK_OF(X509) **certs);
void evidence_tpm_certify_clear(evidence_tpm_certify *certify);

#endif
