/* SPDX-License-Identifier: Apache-2.0 */
#include "tpm_pub.h"

#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <string.h>

static const struct {
    TPMI_ECC_CURVE curve;
    const char *name;
    size_t order_len;
    int bits;
} curves[] = {
    { TPM2_ECC_NIST_P256, "P-256", 32, 256 },
    { TPM2_ECC_NIST_P384, "P-384", 48, 384 },
    { TPM2_ECC_NIST_P521, "P-521", 66, 521 },
};

static const struct {
    TPM2_ALG_ID alg;
    int nid;
    size_t size;
} hashes[] = {
    { TPM2_ALG_SHA1, NID_sha1, 20 },
    { TPM2_ALG_SHA256, NID_sha256, 32 },
    { TPM2_ALG_SHA384, NID_sha384, 48 },
    { TPM2_ALG_SHA512, NID_sha512, 64 },
};

size_t devid_tpm_curve_order_len(TPMI_ECC_CURVE curve)
{
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
        if (curves[i].curve == curve)
            return curves[i].order_len;
    return 0;
}

int devid_tpm_curve_bits(TPMI_ECC_CURVE curve)
{
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
        if (curves[i].curve == curve)
            return curves[i].bits;
    return 0;
}

const char *devid_tpm_curve_name(TPMI_ECC_CURVE curve)
{
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
        if (curves[i].curve == curve)
            return curves[i].name;
    return NULL;
}

TPM2_ALG_ID devid_tpm_hash_from_nid(int md_nid)
{
    for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
        if (hashes[i].nid == md_nid)
            return hashes[i].alg;
    return TPM2_ALG_ERROR;
}

int devid_tpm_hash_to_nid(TPM2_ALG_ID alg)
{
    for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
        if (hashes[i].alg == alg)
            return hashes[i].nid;
    return NID_undef;
}

size_t devid_tpm_hash_size(TPM2_ALG_ID alg)
{
    for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
        if (hashes[i].alg == alg)
            return hashes[i].size;
    return 0;
}

static devid_rc from_params(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
    devid_rc rc = DEVID_ERR_FORMAT;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, type, DEVID_SW_PROPQ);
    *out = NULL;
    if (params && pctx && EVP_PKEY_fromdata_init(pctx) == 1 &&
        EVP_PKEY_fromdata(pctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1)
        rc = DEVID_OK;
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    if (rc != DEVID_OK)
        return devid_fail(rc, "OpenSSL rejected the TPM's %s public key", type);
    return rc;
}

static devid_rc ecc_to_evp(const TPMT_PUBLIC *pub, EVP_PKEY **out)
{
    const TPMS_ECC_POINT *pt = &pub->unique.ecc;
    const char *group = devid_tpm_curve_name(pub->parameters.eccDetail.curveID);
    size_t flen = devid_tpm_curve_order_len(pub->parameters.eccDetail.curveID);
    if (!group)
        return devid_fail(DEVID_ERR_UNSUPPORTED, "TPM key on unsupported curve 0x%04x",
                          pub->parameters.eccDetail.curveID);
    if (pt->x.size > flen || pt->y.size > flen)
        return devid_fail(DEVID_ERR_FORMAT, "TPM ECC point larger than its curve");
    /* uncompressed point: 04 || X || Y, coordinates left-padded to the field size */
    unsigned char point[1 + 2 * 66] = { 0x04 };
    memcpy(point + 1 + flen - pt->x.size, pt->x.buffer, pt->x.size);
    memcpy(point + 1 + 2 * flen - pt->y.size, pt->y.buffer, pt->y.size);

    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (!bld)
        return devid_fail(DEVID_ERR_MEMORY, "param builder");
    devid_rc rc = DEVID_ERR_MEMORY;
    if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * flen))
        rc = from_params("EC", bld, out);
    OSSL_PARAM_BLD_free(bld);
    return rc;
}

static devid_rc rsa_to_evp(const TPMT_PUBLIC *pub, EVP_PKEY **out)
{
    const TPM2B_PUBLIC_KEY_RSA *mod = &pub->unique.rsa;
    uint32_t exp = pub->parameters.rsaDetail.exponent ? pub->parameters.rsaDetail.exponent : 65537;
    BIGNUM *n = BN_bin2bn(mod->buffer, mod->size, NULL);
    BIGNUM *e = BN_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    devid_rc rc = DEVID_ERR_MEMORY;
    if (n && e && bld && BN_set_word(e, exp) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        rc = from_params("RSA", bld, out);
    else
        devid_fail(rc, "building an RSA public key");
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return rc;
}

devid_rc devid_tpm_public_to_evp(const TPMT_PUBLIC *pub, EVP_PKEY **out)
{
    switch (pub->type) {
    case TPM2_ALG_ECC:
        return ecc_to_evp(pub, out);
    case TPM2_ALG_RSA:
        return rsa_to_evp(pub, out);
    default:
        return devid_fail(DEVID_ERR_UNSUPPORTED, "TPM key of type 0x%04x is neither ECC nor RSA",
                          pub->type);
    }
}
