/* SPDX-License-Identifier: Apache-2.0 */
/* HMAC-SHA256 with secret keys living in the TPM (core/hmac.c): signing and verification
 * both run in the TPM (verification recomputes and compares in constant time). Input is
 * collected (up to P11_MAX_DATA) and handed to core at the end; core uses one TPM2_HMAC up to
 * 1024 bytes and an HMAC sequence beyond. */
#include "p11.h"

static CK_RV hmac_sign(p11_op *op, const unsigned char *in, size_t inlen, unsigned char *sig,
                       size_t *siglen)
{
    if (*siglen < DEVID_HMAC_SIZE)
        return CKR_BUFFER_TOO_SMALL;
    CK_RV rv = p11_rv(devid_key_hmac(op->key, in, inlen, sig), "HMAC-SHA256 in the TPM");
    if (rv == CKR_OK)
        *siglen = DEVID_HMAC_SIZE;
    return rv;
}

static CK_RV hmac_verify(p11_op *op, const unsigned char *in, size_t inlen,
                         const unsigned char *sig, size_t siglen)
{
    if (siglen != DEVID_HMAC_SIZE)
        return CKR_SIGNATURE_LEN_RANGE;
    bool match = false;
    CK_RV rv = p11_rv(devid_key_hmac_verify(op->key, in, inlen, sig, siglen, &match),
                      "HMAC-SHA256 in the TPM");
    return rv != CKR_OK ? rv : match ? CKR_OK : CKR_SIGNATURE_INVALID;
}

const p11_mech p11_mech_hmac[] = {
    { .type = CKM_SHA256_HMAC,
      .name = "CKM_SHA256_HMAC",
      .key_type = CKK_GENERIC_SECRET,
      .min_bits = 256,
      .max_bits = 256,
      .flags = CKF_HW | CKF_SIGN | CKF_VERIFY,
      .sign = hmac_sign,
      .verify = hmac_verify },
};
const size_t p11_mech_hmac_count = sizeof(p11_mech_hmac) / sizeof(p11_mech_hmac[0]);
