/* SPDX-License-Identifier: Apache-2.0 */
/* TPM2_ActivateCredential with the EK and the IAK (attest.h): how a CA that wrapped a
 * secret for "the TPM with this EK, holding a key of this name" learns the device really has
 * both. The CA's bytes are parsed with tpm2-tss's unmarshalling and must fill their buffers. */
#include "attest.h"
#include "hierarchy.h"
#include "key_internal.h"
#include "tpm.h"

#include <openssl/crypto.h>
#include <string.h>
#include <tss2/tss2_mu.h>

devid_rc devid_credential_parse(const unsigned char *credential, size_t credential_len,
                                const unsigned char *secret, size_t secret_len,
                                TPM2B_ID_OBJECT *id_object, TPM2B_ENCRYPTED_SECRET *enc_secret)
{
    TPM2B_ID_OBJECT id;
    TPM2B_ENCRYPTED_SECRET es;
    size_t off = 0;
    if (!credential ||
        Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(credential, credential_len, &off, &id) !=
            TSS2_RC_SUCCESS ||
        off != credential_len || id.size == 0)
        return devid_fail(DEVID_ERR_FORMAT, "the credential is not a TPM2B_ID_OBJECT");
    off = 0;
    if (!secret ||
        Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(secret, secret_len, &off, &es) !=
            TSS2_RC_SUCCESS ||
        off != secret_len || es.size == 0)
        return devid_fail(DEVID_ERR_FORMAT, "the credential's secret is not a "
                                            "TPM2B_ENCRYPTED_SECRET");
    if (id_object)
        *id_object = id;
    if (enc_secret)
        *enc_secret = es;
    return DEVID_OK;
}

typedef struct {
    devid_key *ek;
    TPM2B_ID_OBJECT id;
    TPM2B_ENCRYPTED_SECRET secret;
    TPM2B_DIGEST *cert_info;
} activate_req;

/* The TCG EK templates' policy: PolicySecret(TPM_RH_ENDORSEMENT), in a session used once.
 * PolicySecret is authorised by the endorsement hierarchy: its auth value, when the TPM has
 * one, comes from endorsement_auth_file and goes in the salted session (hierarchy.h); a
 * refusal names that setting and is not retried. */
static devid_rc ek_policy_session(ESYS_CONTEXT *ctx, ESYS_TR *session)
{
    TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
    devid_rc rc = DEVID_ESYS("starting the EK's policy session", Esys_StartAuthSession, ctx,
                             ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                             NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, session);
    if (rc != DEVID_OK)
        return rc;
    ESYS_TR auth_session = ESYS_TR_PASSWORD;
    devid_cmd_shape shape = { 0 }; /* (nothing secret among its parameters) */
    rc = devid_hierarchy_session(ctx, ESYS_TR_RH_ENDORSEMENT, shape, &auth_session);
    if (rc == DEVID_OK)
        rc = devid_hierarchy_check(ctx,
                                   DEVID_ESYS_RAW(Esys_PolicySecret, ctx, ESYS_TR_RH_ENDORSEMENT,
                                                  *session, auth_session, ESYS_TR_NONE,
                                                  ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL),
                                   ESYS_TR_RH_ENDORSEMENT,
                                   "TPM2_PolicySecret (endorsement hierarchy) for the EK");
    if (rc == DEVID_OK)
        rc = devid_tpm_result_locked(Esys_TRSess_SetAttributes(ctx, *session, 0,
                                                               TPMA_SESSION_CONTINUESESSION),
                                     "setting the policy session's attributes");
    if (rc != DEVID_OK && devid_tpm_alive(ctx)) {
        DEVID_ESYS_RAW(Esys_FlushContext, ctx, *session);
        *session = ESYS_TR_NONE;
    }
    return rc;
}

static devid_rc activate_op(ESYS_CONTEXT *ctx, devid_key *iak, ESYS_TR session, void *arg)
{
    (void)session; /* the IAK's ADMIN role takes its empty auth value in a password session */
    activate_req *req = arg;
    devid_rc rc = devid_key_bind(ctx, req->ek);
    ESYS_TR policy = ESYS_TR_NONE;
    if (rc == DEVID_OK)
        rc = ek_policy_session(ctx, &policy);
    if (rc != DEVID_OK)
        return rc;
    TSS2_RC trc = DEVID_ESYS_RAW(Esys_ActivateCredential, ctx, iak->tr, req->ek->tr,
                                 ESYS_TR_PASSWORD, policy, ESYS_TR_NONE, &req->id, &req->secret,
                                 &req->cert_info);
    rc = devid_tpm_result_locked(trc, "TPM2_ActivateCredential");
    /* on success the TPM ended the session (continueSession clear); on failure we do */
    if (rc != DEVID_OK && devid_tpm_alive(ctx))
        DEVID_ESYS_RAW(Esys_FlushContext, ctx, policy);
    return rc;
}

devid_rc devid_activate_credential(devid_key *iak, devid_key *ek, const unsigned char *credential,
                                   size_t credential_len, const unsigned char *secret,
                                   size_t secret_len, unsigned char out[DEVID_CREDENTIAL_MAX],
                                   size_t *out_len)
{
    if (!iak || !ek || !out || !out_len)
        return devid_fail(DEVID_ERR_ARG, "devid_activate_credential: NULL argument");
    *out_len = 0;
    if (!(iak->flags & DEVID_KEY_RESTRICTED) || !(iak->flags & DEVID_KEY_CAN_SIGN) ||
        iak->auth.size)
        return devid_fail(DEVID_ERR_KEY_USAGE,
                          "key 0x%08x is not an IAK (a restricted signing "
                          "key with an empty auth value)",
                          iak->handle);
    if (!(ek->flags & DEVID_KEY_RESTRICTED) || !(ek->flags & DEVID_KEY_CAN_DECRYPT))
        return devid_fail(DEVID_ERR_KEY_USAGE,
                          "key 0x%08x is not an EK (a restricted "
                          "decryption key)",
                          ek->handle);
    activate_req req = { .ek = ek };
    devid_rc rc = devid_credential_parse(credential, credential_len, secret, secret_len, &req.id,
                                         &req.secret);
    if (rc != DEVID_OK)
        return rc;
    devid_cmd_shape shape = { .first_in_sized = true, .first_out_sized = true };
    rc = devid_key_run(iak, shape, activate_op, &req);
    if (rc == DEVID_OK && req.cert_info->size > DEVID_CREDENTIAL_MAX)
        rc = devid_fail(DEVID_ERR_TPM, "TPM2_ActivateCredential returned %u bytes",
                        req.cert_info->size);
    if (rc == DEVID_OK) {
        memcpy(out, req.cert_info->buffer, req.cert_info->size);
        *out_len = req.cert_info->size;
    }
    if (req.cert_info) {
        OPENSSL_cleanse(req.cert_info->buffer, sizeof(req.cert_info->buffer));
        Esys_Free(req.cert_info);
    }
    return rc;
}
