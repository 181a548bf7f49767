/* SPDX-License-Identifier: Apache-2.0 */
#include "hierarchy.h"
#include "core.h"
#include "fsutil.h"
#include "tpm.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define MAX_AUTH_FILE 4096

static const char *setting_of(ESYS_TR h)
{
    return h == ESYS_TR_RH_OWNER         ? "owner_auth_file"
           : h == ESYS_TR_RH_ENDORSEMENT ? "endorsement_auth_file"
                                         : NULL;
}

static const char *file_of(ESYS_TR h)
{
    const devid_config *cfg = devid_core_config();
    if (!cfg)
        return NULL;
    return h == ESYS_TR_RH_OWNER         ? cfg->owner_auth_file
           : h == ESYS_TR_RH_ENDORSEMENT ? cfg->endorsement_auth_file
                                         : NULL;
}

/* The file's content without one trailing newline (what `echo VALUE > file` leaves). */
static devid_rc read_auth(ESYS_TR h, TPM2B_AUTH *auth)
{
    auth->size = 0;
    const char *path = file_of(h);
    if (!path)
        return DEVID_OK;
    unsigned char *data = NULL;
    size_t len = 0;
    char what[4200];
    snprintf(what, sizeof(what), "%s %s", setting_of(h), path);
    devid_rc rc = devid_read_secret_file(path, what, MAX_AUTH_FILE, &data, &len);
    if (rc == DEVID_ERR_CONFIG) /* its mode or owner: the message names it */
        return rc;
    if (rc != DEVID_OK)
        return devid_fail(DEVID_ERR_CONFIG, "%s: %s", setting_of(h), devid_last_error());
    if (len && data[len - 1] == '\n')
        len--;
    if (len && data[len - 1] == '\r')
        len--;
    if (len == 0 || len > sizeof(auth->buffer))
        rc = devid_fail(DEVID_ERR_CONFIG, "%s %s: the auth value must be 1 to %zu bytes",
                        setting_of(h), path, sizeof(auth->buffer));
    else {
        memcpy(auth->buffer, data, len);
        auth->size = (UINT16)len;
    }
    OPENSSL_cleanse(data, len);
    free(data);
    return rc;
}

devid_rc devid_hierarchy_session(ESYS_CONTEXT *ctx, ESYS_TR h, devid_cmd_shape shape,
                                 ESYS_TR *session)
{
    TPM2B_AUTH auth;
    devid_rc rc = read_auth(h, &auth);
    if (rc == DEVID_OK)
        rc = devid_tpm_result_locked(Esys_TR_SetAuth(ctx, h, &auth),
                                     "setting the hierarchy auth value");
    shape.carries_secret = auth.size > 0;
    OPENSSL_cleanse(&auth, sizeof(auth));
    if (rc == DEVID_OK)
        rc = devid_session_for(ctx, shape, session);
    return rc;
}

devid_rc devid_hierarchy_check(ESYS_CONTEXT *ctx, TSS2_RC trc, ESYS_TR h, const char *what)
{
    const char *setting = setting_of(h);
    if (setting) {
        TPM2B_AUTH none = { 0 }; /* (ESAPI copies the whole TPM2B: the old value is gone) */
        Esys_TR_SetAuth(ctx, h, &none);
    }
    devid_rc rc = devid_tpm_result_locked(trc, what);
    if (rc != DEVID_ERR_AUTH || !setting)
        return rc;
    const char *name = h == ESYS_TR_RH_OWNER ? "owner" : "endorsement";
    const char *path = file_of(h);
    if (!path)
        return devid_fail(DEVID_ERR_CONFIG,
                          "%s: the TPM's %s hierarchy has an auth value: set "
                          "%s in devid.conf to a file holding it (not retried)",
                          what, name, setting);
    return devid_fail(DEVID_ERR_CONFIG,
                      "%s: the TPM's %s hierarchy refused the auth value in "
                      "%s (%s): fix that file (not retried)",
                      what, name, setting, path);
}

bool devid_hierarchy_has_file(ESYS_TR h)
{
    return file_of(h) != NULL;
}

devid_rc devid_hierarchy_state(ESYS_CONTEXT *ctx, TPMA_PERMANENT *permanent,
                               TPMA_STARTUP_CLEAR *startup)
{
    _Static_assert(TPM2_PT_STARTUP_CLEAR == TPM2_PT_PERMANENT + 1, "read as one range");
    UINT32 v[2] = { 0 };
    unsigned seen = 0;
    devid_rc rc = devid_tpm_properties(ctx, "reading the TPM's hierarchy state", TPM2_PT_PERMANENT,
                                       2, v, &seen);
    if (rc != DEVID_OK)
        return rc;
    if (seen != 3)
        return devid_fail(DEVID_ERR_TPM, "the TPM did not report its hierarchy state");
    *permanent = v[0];
    *startup = v[1];
    return DEVID_OK;
}

devid_rc devid_hierarchy_configured(TPMA_PERMANENT permanent, ESYS_TR h, const char *what)
{
    const char *setting = setting_of(h);
    TPMA_PERMANENT set = h == ESYS_TR_RH_OWNER ? TPMA_PERMANENT_OWNERAUTHSET
                                               : TPMA_PERMANENT_ENDORSEMENTAUTHSET;
    if (!setting || file_of(h) || !(permanent & set))
        return DEVID_OK; /* (a configured value: its one use tells whether it is right) */
    return devid_fail(DEVID_ERR_CONFIG,
                      "%s: the TPM's %s hierarchy has an auth value: set %s in "
                      "devid.conf to a file holding it (nothing sent to the TPM with it)",
                      what, h == ESYS_TR_RH_OWNER ? "owner" : "endorsement", setting);
}
