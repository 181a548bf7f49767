/* SPDX-License-Identifier: Apache-2.0 */
/* The attestation key (IAK) and what it signs: the factory's IAK at the DevID map's handle,
 * and TPM2_Certify of a key by it - the TPM's signed statement that the key lives in this TPM
 * with the attributes its public area shows. */
#ifndef DEVID_ATTEST_H
#define DEVID_ATTEST_H

#include "error.h"
#include "key.h"

#include <stdbool.h>
#include <stddef.h>

/* The IAK at the DevID map's IAK handle: opened if it is there, else created from the TCG
 * template (devid_templates.h) and made persistent. EC gives P-256, RSA gives 2048 bits.
 * Something at the handle that is not a restricted signing key of this TPM is never
 * touched: DEVID_ERR_PROHIBITED. *created tells whether it was made by this call. The IAK
 * entry disabled in the configuration: DEVID_ERR_CONFIG. */
devid_rc devid_iak_ensure(devid_key_type type, bool *created, devid_key **out);

/* Restricted keys sign only what the TPM itself produced (attestations), never data given
 * by a caller: front-ends ask this before starting a signature, and refuse with their own
 * "key function not permitted" code when it is false. */
bool devid_key_signs_arbitrary_data(const devid_key *key);

/* TPM2_Certify of `key` by the restricted signing key `iak`. */
typedef struct devid_certification {
    unsigned char *attest; /* TPMS_ATTEST as the TPM marshalled and signed it */
    size_t attest_len;
    unsigned char *signature; /* TPMT_SIGNATURE, marshalled (Tss2_MU) */
    size_t signature_len;
    unsigned char *sig_der; /* the same signature as X.509 carries it: DER
                                   ECDSA-Sig-Value, or the RSA PKCS#1 v1.5 block */
    size_t sig_der_len;
    unsigned char *public_area; /* the certified key's TPMT_PUBLIC, marshalled (Tss2_MU) */
    size_t public_len;
} devid_certification;

/* The key's TPMT_PUBLIC, marshalled (Tss2_MU), into a malloc'd *out. */
devid_rc devid_key_public_area(const devid_key *key, unsigned char **out, size_t *out_len);

/* The largest qualifying data TPM2_Certify takes (a TPM2B_DATA). */
#define DEVID_CERTIFY_QUALIFYING_MAX 64

/* Certifies `key` (a persistent or loaded TPM key) with `iak`, the TPM adding `qualifying`
 * (a nonce or a hash the verifier chose) as extraData. `iak` must be a restricted signing
 * key: DEVID_ERR_KEY_USAGE otherwise. The TPM's answer is checked before it is returned (a
 * well-formed TPMS_ATTEST of type certify, naming `key`, with this extraData). */
devid_rc devid_certify(devid_key *iak, devid_key *key, const unsigned char *qualifying,
                       size_t qualifying_len, devid_certification *out);
void devid_certification_clear(devid_certification *c);

/* TPM2_ActivateCredential: recovers the secret (at most 64 bytes) a CA wrapped with
 * TPM2_MakeCredential for this TPM's EK and the IAK's name, which only the TPM holding both
 * can do. `credential` is the marshalled TPM2B_ID_OBJECT and `secret` the marshalled
 * TPM2B_ENCRYPTED_SECRET, as the CA sent them (devid_credential_parse checks them). The EK's
 * policy (PolicySecret of the endorsement hierarchy, TCG EK templates) is satisfied in a
 * policy session started for this one command, with the endorsement hierarchy's auth value
 * from endorsement_auth_file when the TPM has one (hierarchy.h: a missing or refused value is
 * a DEVID_ERR_CONFIG naming the setting, not retried). */
#define DEVID_CREDENTIAL_MAX 64
devid_rc devid_activate_credential(devid_key *iak, devid_key *ek, const unsigned char *credential,
                                   size_t credential_len, const unsigned char *secret,
                                   size_t secret_len, unsigned char out[DEVID_CREDENTIAL_MAX],
                                   size_t *out_len);

/* Parses a CA's credential (marshalled TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET, each
 * exactly filling its buffer, neither empty). Either output may be NULL. DEVID_ERR_FORMAT
 * when they are not. */
struct TPM2B_ID_OBJECT;
struct TPM2B_ENCRYPTED_SECRET;
devid_rc devid_credential_parse(const unsigned char *credential, size_t credential_len,
                                const unsigned char *secret, size_t secret_len,
                                struct TPM2B_ID_OBJECT *id_object,
                                struct TPM2B_ENCRYPTED_SECRET *enc_secret);

#endif
