/* SPDX-License-Identifier: Apache-2.0 */
#include "devid_templates.h"

#include <openssl/obj_mac.h>
#include <string.h>

/* What both factory keys are: never leave this TPM, never re-parented, generated inside it,
 * used with their (empty) auth value, signing only. */
#define FACTORY_ATTRS                                                                              \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT)

static void set_unique(TPMT_PUBLIC *t, const char *tag)
{
    size_t n = strlen(tag);
    if (t->type == TPM2_ALG_ECC) {
        t->unique.ecc.x.size = (UINT16)n;
        memcpy(t->unique.ecc.x.buffer, tag, n);
        t->unique.ecc.y.size = (UINT16)n;
        memcpy(t->unique.ecc.y.buffer, tag, n);
    } else {
        t->unique.rsa.size = (UINT16)n;
        memcpy(t->unique.rsa.buffer, tag, n);
    }
}

devid_rc devid_factory_template(devid_provision_template which, devid_key_type type, int curve_nid,
                                int bits, TPM2B_PUBLIC *out)
{
    memset(out, 0, sizeof(*out));
    TPMT_PUBLIC *t = &out->publicArea;
    bool iak = which == DEVID_TEMPLATE_IAK;
    if (which != DEVID_TEMPLATE_IDEVID && !iak)
        return devid_fail(DEVID_ERR_ARG, "unknown factory key %d", (int)which);
    t->nameAlg = TPM2_ALG_SHA256;
    t->objectAttributes = FACTORY_ATTRS | TPMA_OBJECT_NODA;
    if (iak)
        t->objectAttributes |= TPMA_OBJECT_RESTRICTED;
    if (type == DEVID_KEY_EC) {
        t->type = TPM2_ALG_ECC;
        TPMS_ECC_PARMS *e = &t->parameters.eccDetail;
        e->symmetric.algorithm = TPM2_ALG_NULL;
        e->kdf.scheme = TPM2_ALG_NULL;
        e->scheme.scheme = TPM2_ALG_NULL;
        if (curve_nid == NID_X9_62_prime256v1)
            e->curveID = TPM2_ECC_NIST_P256;
        else if (curve_nid == NID_secp384r1 && !iak)
            e->curveID = TPM2_ECC_NIST_P384;
        else
            return devid_fail(DEVID_ERR_UNSUPPORTED, "%s: curve %s not supported (P-256%s)",
                              iak ? "IAK" : "IDevID", OBJ_nid2sn(curve_nid),
                              iak ? "" : " or P-384");
        if (iak) {
            e->scheme.scheme = TPM2_ALG_ECDSA;
            e->scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
        }
    } else if (type == DEVID_KEY_RSA) {
        t->type = TPM2_ALG_RSA;
        TPMS_RSA_PARMS *r = &t->parameters.rsaDetail;
        r->symmetric.algorithm = TPM2_ALG_NULL;
        r->scheme.scheme = TPM2_ALG_NULL;
        if ((iak && bits != 2048) || (bits != 2048 && bits != 3072 && bits != 4096))
            return devid_fail(DEVID_ERR_UNSUPPORTED, "%s: RSA %d not supported (2048%s)",
                              iak ? "IAK" : "IDevID", bits, iak ? "" : ", 3072 or 4096");
        r->keyBits = (TPMI_RSA_KEY_BITS)bits;
        r->exponent = 0; /* 65537 */
        if (iak) {
            r->scheme.scheme = TPM2_ALG_RSASSA;
            r->scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
        }
    } else {
        return devid_fail(DEVID_ERR_ARG, "factory keys are EC or RSA");
    }
    set_unique(t, iak ? "IAK" : "IDEVID");
    return DEVID_OK;
}

bool devid_factory_public_ok(devid_provision_template which, const TPMT_PUBLIC *pub)
{
    TPMA_OBJECT a = pub->objectAttributes;
    if ((a & FACTORY_ATTRS) != FACTORY_ATTRS || (a & TPMA_OBJECT_DECRYPT))
        return false;
    bool restricted = (a & TPMA_OBJECT_RESTRICTED) != 0;
    return which == DEVID_TEMPLATE_IAK ? restricted : !restricted;
}
