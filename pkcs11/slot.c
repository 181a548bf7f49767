/* SPDX-License-Identifier: Apache-2.0 */
/* The one slot and its token. The token is present when a TPM answers; without one the slot
 * exists and reports no token, so consumers load the module and simply find nothing. */
#include "p11.h"

#include <string.h>

CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    if (!pulCount)
        return p11_leave(CKR_ARGUMENTS_BAD);
    CK_ULONG n = (!tokenPresent || p11_token_present()) ? 1 : 0;
    if (!pSlotList) {
        *pulCount = n;
        return p11_leave(CKR_OK);
    }
    if (*pulCount < n) {
        *pulCount = n; /* and nothing written */
        return p11_leave(CKR_BUFFER_TOO_SMALL);
    }
    if (n)
        pSlotList[0] = P11_SLOT_ID;
    *pulCount = n;
    return p11_leave(CKR_OK);
}

CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    CK_RV rv = p11_enter_slot(slotID, pInfo != NULL, false);
    if (rv != CKR_OK)
        return rv;
    memset(pInfo, 0, sizeof(*pInfo));
    p11_pad(pInfo->slotDescription, sizeof(pInfo->slotDescription), "devid TPM 2.0");
    p11_pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), "devid");
    /* "Removable": the TPM (or its connection) can be absent, and then there is no token. */
    pInfo->flags = CKF_HW_SLOT | CKF_REMOVABLE_DEVICE;
    if (p11_token_present())
        pInfo->flags |= CKF_TOKEN_PRESENT;
    pInfo->hardwareVersion.major = 2;
    pInfo->hardwareVersion.minor = 0;
    pInfo->firmwareVersion.major = 0;
    pInfo->firmwareVersion.minor = 0;
    return p11_leave(CKR_OK);
}

/* The user PIN opens a DA-protected TPM object, so the TPM's dictionary-attack counter is
 * the PIN's retry counter (shared with every other DA-protected object of the TPM; it goes
 * down with time, not with a good PIN): COUNT_LOW after a failure, FINAL_TRY when one more
 * failure locks, LOCKED while the TPM is in lockout. */
static CK_FLAGS pin_flags(void)
{
    devid_lockout_state st;
    devid_rc rc = devid_tpm_lockout_state(&st);
    if (rc != DEVID_OK) {
        devid_info("pkcs11: token flags without the PIN counter: %s", devid_last_error());
        return 0;
    }
    if (devid_lockout_locked(&st))
        return CKF_USER_PIN_LOCKED;
    CK_FLAGS f = 0;
    if (st.counter > 0)
        f |= CKF_USER_PIN_COUNT_LOW;
    if (st.counter + 1 == st.max_tries)
        f |= CKF_USER_PIN_FINAL_TRY;
    return f;
}

CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    CK_RV rv = p11_enter_slot(slotID, pInfo != NULL, true);
    if (rv != CKR_OK)
        return rv;
    const devid_config *cfg = devid_core_config();
    memset(pInfo, 0, sizeof(*pInfo));
    /* Blank-padded, never NUL-padded: keyd trims whitespace before comparing labels. */
    p11_pad(pInfo->label, sizeof(pInfo->label),
            cfg && cfg->token_label ? cfg->token_label : DEVID_DEFAULT_TOKEN_LABEL);
    p11_pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), "devid");
    p11_pad(pInfo->model, sizeof(pInfo->model), "TPM 2.0");
    p11_pad(pInfo->serialNumber, sizeof(pInfo->serialNumber), p11_token_serial());
    pInfo->flags = CKF_RNG | CKF_TOKEN_INITIALIZED;
    if (p11_pin_set()) {
        pInfo->flags |= CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED;
        pInfo->flags |= pin_flags();
    }
    pInfo->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    pInfo->ulSessionCount = p11_session_count(false);
    pInfo->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    pInfo->ulRwSessionCount = p11_session_count(true);
    pInfo->ulMaxPinLen = P11_MAX_PIN_LEN;
    pInfo->ulMinPinLen = 1;
    pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->hardwareVersion.major = 2;
    pInfo->hardwareVersion.minor = 0;
    memset(pInfo->utcTime, ' ', sizeof(pInfo->utcTime)); /* no CKF_CLOCK_ON_TOKEN */
    return p11_leave(CKR_OK);
}

CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    if (pReserved)
        return p11_leave(CKR_ARGUMENTS_BAD);
    (void)pSlot;
    /* The TPM does not come and go in a way worth a blocking wait. */
    return p11_leave((flags & CKF_DONT_BLOCK) ? CKR_NO_EVENT : CKR_FUNCTION_NOT_SUPPORTED);
}
