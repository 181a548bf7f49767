/* SPDX-License-Identifier: Apache-2.0 */
#include "keygen.h"
#include "key_internal.h"
#include "session.h"
#include "srk.h"
#include "tpm.h"

#include <openssl/crypto.h>
#include <openssl/obj_mac.h>
#include <string.h>

devid_rc devid_keygen_template(const devid_keygen *p, TPM2B_PUBLIC *tmpl)
{
    memset(tmpl, 0, sizeof(*tmpl));
    TPMT_PUBLIC *t = &tmpl->publicArea;
    t->nameAlg = TPM2_ALG_SHA256;
    t->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_USERWITHAUTH;
    if (!p->hmac_value_len) /* an imported value did not originate in the TPM */
        t->objectAttributes |= TPMA_OBJECT_SENSITIVEDATAORIGIN;
    if (p->hmac_value_len && p->type != DEVID_KEY_HMAC)
        return devid_fail(DEVID_ERR_ARG, "only HMAC key values can be imported");
    if (p->sign)
        t->objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT;
    if (p->decrypt)
        t->objectAttributes |= TPMA_OBJECT_DECRYPT;
    /* An empty auth value or the token's random 32-byte secret (token.h) cannot be guessed:
     * such keys stay out of dictionary-attack accounting, so a lockout never blocks them. A
     * password the user chose can: the TPM's lockout must rate-limit guesses at it. */
    if (p->auth_len == 0 || p->auth_is_secret)
        t->objectAttributes |= TPMA_OBJECT_NODA;
    if (!p->sign && !p->decrypt)
        return devid_fail(DEVID_ERR_ARG, "a key must allow signing or decryption");

    if (p->type == DEVID_KEY_HMAC) {
        /* a TPM-generated HMAC-SHA256 key: sign only, its scheme fixed */
        if (p->decrypt)
            return devid_fail(DEVID_ERR_ARG, "an HMAC key only signs");
        t->type = TPM2_ALG_KEYEDHASH;
        TPMS_KEYEDHASH_PARMS *k = &t->parameters.keyedHashDetail;
        k->scheme.scheme = TPM2_ALG_HMAC;
        k->scheme.details.hmac.hashAlg = TPM2_ALG_SHA256;
    } else if (p->type == DEVID_KEY_EC) {
        t->type = TPM2_ALG_ECC;
        TPMS_ECC_PARMS *e = &t->parameters.eccDetail;
        e->symmetric.algorithm = TPM2_ALG_NULL;
        e->scheme.scheme = TPM2_ALG_NULL;
        e->kdf.scheme = TPM2_ALG_NULL;
        if (p->curve_nid == NID_X9_62_prime256v1)
            e->curveID = TPM2_ECC_NIST_P256;
        else if (p->curve_nid == NID_secp384r1)
            e->curveID = TPM2_ECC_NIST_P384;
        else
            return devid_fail(DEVID_ERR_UNSUPPORTED, "curve %s: only P-256 and P-384",
                              OBJ_nid2sn(p->curve_nid));
    } else if (p->type == DEVID_KEY_RSA) {
        t->type = TPM2_ALG_RSA;
        TPMS_RSA_PARMS *r = &t->parameters.rsaDetail;
        r->symmetric.algorithm = TPM2_ALG_NULL;
        r->scheme.scheme = TPM2_ALG_NULL; /* any scheme per operation; raw RSA if decrypt */
        if (p->bits != 2048 && p->bits != 3072 && p->bits != 4096)
            return devid_fail(DEVID_ERR_UNSUPPORTED, "RSA %d: only 2048, 3072 and 4096 bits",
                              p->bits);
        r->keyBits = (TPMI_RSA_KEY_BITS)p->bits;
        r->exponent = 0; /* 65537 */
    } else {
        return devid_fail(DEVID_ERR_ARG, "unknown key type %d", (int)p->type);
    }
    return DEVID_OK;
}

typedef struct create_req {
    const TPM2B_PUBLIC *tmpl;
    const TPM2B_SENSITIVE_CREATE *sensitive;
    uint32_t parent_handle;
    TPM2B_PRIVATE *priv;
    TPM2B_PUBLIC *pub;
} create_req;

static devid_rc create_op(ESYS_CONTEXT *ctx, void *arg)
{
    create_req *req = arg;
    ESYS_TR parent, session;
    devid_rc rc = devid_srk_default_parent(ctx, &req->parent_handle);
    if (rc == DEVID_OK)
        rc = devid_srk_resolve(ctx, req->parent_handle, &parent);
    /* TPM2_Create: inSensitive first (sized); secret when it carries an auth value or data. */
    const TPM2B_SENSITIVE_CREATE *sensitive = req->sensitive;
    bool secret = sensitive->sensitive.userAuth.size || sensitive->sensitive.data.size;
    devid_cmd_shape shape = { .carries_secret = secret,
                              .first_in_sized = true,
                              .first_out_sized = true };
    if (rc == DEVID_OK)
        rc = devid_session_for(ctx, shape, &session);
    if (rc != DEVID_OK)
        return rc;
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };
    TSS2_RC trc;
    do { /* creating needs a free object slot: make room among our loaded keys */
        trc = DEVID_ESYS_RAW(Esys_Create, ctx, parent, session, ESYS_TR_NONE, ESYS_TR_NONE,
                             sensitive, req->tmpl, &outside, &pcrs, &req->priv, &req->pub, NULL,
                             NULL, NULL);
    } while (DEVID_TPM_OBJECT_MEMORY(trc) && devid_keys_evict_one(ctx));
    return devid_tpm_result_locked(trc, "creating an object (TPM2_Create)");
}

devid_rc devid_tpm_create(const TPM2B_PUBLIC *tmpl, const TPM2B_SENSITIVE_CREATE *sensitive,
                          devid_tss2_key *out)
{
    create_req req = { .tmpl = tmpl, .sensitive = sensitive };
    devid_rc rc = devid_tpm_run(create_op, &req);
    if (rc != DEVID_OK)
        return rc;
    memset(out, 0, sizeof(*out));
    out->empty_auth = sensitive->sensitive.userAuth.size == 0;
    out->parent = req.parent_handle;
    out->pub = *req.pub;
    out->priv = *req.priv;
    Esys_Free(req.pub);
    Esys_Free(req.priv);
    return DEVID_OK;
}

devid_rc devid_keygen_create(const devid_keygen *p, devid_tss2_key *out)
{
    TPM2B_PUBLIC tmpl;
    devid_rc rc = devid_keygen_template(p, &tmpl);
    if (rc != DEVID_OK)
        return rc;
    TPM2B_SENSITIVE_CREATE sensitive = { 0 };
    if (p->auth_len > sizeof(sensitive.sensitive.userAuth.buffer))
        return devid_fail(DEVID_ERR_ARG, "auth value too long");
    if (p->hmac_value_len > DEVID_HMAC_BLOCK_SIZE || (p->hmac_value_len && !p->hmac_value))
        return devid_fail(DEVID_ERR_ARG, "key value of %zu bytes: at most %d", p->hmac_value_len,
                          DEVID_HMAC_BLOCK_SIZE);
    if (p->auth_len)
        memcpy(sensitive.sensitive.userAuth.buffer, p->auth, p->auth_len);
    sensitive.sensitive.userAuth.size = (UINT16)p->auth_len;
    if (p->hmac_value_len)
        memcpy(sensitive.sensitive.data.buffer, p->hmac_value, p->hmac_value_len);
    sensitive.sensitive.data.size = (UINT16)p->hmac_value_len;
    rc = devid_tpm_create(&tmpl, &sensitive, out);
    OPENSSL_cleanse(&sensitive, sizeof(sensitive));
    return rc;
}
