/* SPDX-License-Identifier: Apache-2.0 */
/* ECDSA mechanisms: the TPM signs a digest; r||s out, never DER. Verification is software. */
#include "p11.h"

#include <openssl/err.h>

/* The largest digest core accepts (SHA-512). */
#define MAX_ECDSA_INPUT 64

static CK_RV ecdsa_sign(p11_op *op, const unsigned char *in, size_t inlen, unsigned char *sig,
                        size_t *siglen)
{
    if (inlen == 0 || inlen > MAX_ECDSA_INPUT)
        return CKR_DATA_LEN_RANGE;
    return p11_rv(devid_key_sign(op->key, DEVID_SIG_ECDSA, 0, in, inlen, sig, siglen),
                  "ECDSA signature");
}

static CK_RV ecdsa_verify(p11_op *op, const unsigned char *in, size_t inlen,
                          const unsigned char *sig, size_t siglen)
{
    size_t half = ((size_t)EVP_PKEY_get_bits(p11_op_pub(op)) + 7) / 8;
    if (siglen != 2 * half)
        return CKR_SIGNATURE_LEN_RANGE;
    if (inlen == 0 || inlen > MAX_ECDSA_INPUT)
        return CKR_DATA_LEN_RANGE;
    unsigned char der[160];
    size_t n = devid_ecdsa_rs_to_der(sig, siglen, der, sizeof(der));
    EVP_PKEY_CTX *ctx = n ? EVP_PKEY_CTX_new_from_pkey(NULL, p11_op_pub(op), P11_SW_PROPQ) : NULL;
    CK_RV rv = CKR_SIGNATURE_INVALID;
    if (!ctx)
        rv = CKR_HOST_MEMORY;
    else if (EVP_PKEY_verify_init(ctx) == 1 && EVP_PKEY_verify(ctx, der, n, in, inlen) == 1)
        rv = CKR_OK;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return rv;
}

#define EC_FLAGS                                                                                   \
    (CKF_HW | CKF_SIGN | CKF_VERIFY | CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
/* clang-format off */ /* braced lists in macros: clang-format 14 and 19 lay them out differently */
#define ECDSA(ck, nid, nm)                                                                  \
    { .type = ck, .name = nm, .key_type = CKK_EC, .min_bits = 256, .max_bits = 521,         \
      .flags = EC_FLAGS, .hash_nid = nid, .sign = ecdsa_sign, .verify = ecdsa_verify }
/* clang-format on */

const p11_mech p11_mech_ecdsa[] = {
    ECDSA(CKM_ECDSA, 0, "CKM_ECDSA"),
    ECDSA(CKM_ECDSA_SHA1, NID_sha1, "CKM_ECDSA_SHA1"),
    ECDSA(CKM_ECDSA_SHA224, NID_sha224, "CKM_ECDSA_SHA224"),
    ECDSA(CKM_ECDSA_SHA256, NID_sha256, "CKM_ECDSA_SHA256"),
    ECDSA(CKM_ECDSA_SHA384, NID_sha384, "CKM_ECDSA_SHA384"),
    ECDSA(CKM_ECDSA_SHA512, NID_sha512, "CKM_ECDSA_SHA512"),
};
const size_t p11_mech_ecdsa_count = sizeof(p11_mech_ecdsa) / sizeof(p11_mech_ecdsa[0]);
