/* SPDX-License-Identifier: Apache-2.0 */
/* The one translation of core errors into PKCS#11 return values. */
#include "p11.h"

static const CK_RV rv_table[DEVID_RC_COUNT] = {
    [DEVID_OK] = CKR_OK,
    [DEVID_ERR_NO_TPM] = CKR_DEVICE_REMOVED,
    [DEVID_ERR_TPM] = CKR_DEVICE_ERROR,
    [DEVID_ERR_RETRY] = CKR_DEVICE_ERROR,
    [DEVID_ERR_NOT_FOUND] = CKR_OBJECT_HANDLE_INVALID,
    [DEVID_ERR_ARG] = CKR_ARGUMENTS_BAD,
    [DEVID_ERR_CONFIG] = CKR_GENERAL_ERROR,
    [DEVID_ERR_AUTH] = CKR_PIN_INCORRECT,
    [DEVID_ERR_LOCKOUT] = CKR_PIN_LOCKED,
    [DEVID_ERR_UNSUPPORTED] = CKR_MECHANISM_INVALID,
    [DEVID_ERR_KEY_USAGE] = CKR_KEY_FUNCTION_NOT_PERMITTED,
    [DEVID_ERR_BUFFER] = CKR_BUFFER_TOO_SMALL,
    [DEVID_ERR_MEMORY] = CKR_HOST_MEMORY,
    [DEVID_ERR_IO] = CKR_DEVICE_ERROR,
    [DEVID_ERR_FORMAT] = CKR_ATTRIBUTE_VALUE_INVALID,
    [DEVID_ERR_PROHIBITED] = CKR_ACTION_PROHIBITED,
    [DEVID_ERR_INTERNAL] = CKR_GENERAL_ERROR,
};

CK_RV p11_rv(devid_rc rc, const char *what)
{
    if (rc == DEVID_OK)
        return CKR_OK;
    CK_RV rv = (unsigned)rc < DEVID_RC_COUNT ? rv_table[rc] : CKR_GENERAL_ERROR;
    /* Failures a caller may swallow (keyd tries EC then RSA) still say why in the log. */
    devid_log(rc == DEVID_ERR_NOT_FOUND ? DEVID_LOG_DEBUG : DEVID_LOG_WARN, "pkcs11: %s: %s (%s)",
              what, devid_last_error(), devid_rc_name(rc));
    return rv;
}

CK_RV p11_keygen_rv(devid_rc rc, devid_key_type type, const char *what)
{
    CK_RV rv = p11_rv(rc, what);
    if (rc == DEVID_ERR_AUTH) /* PINs are set and nobody logged in */
        return CKR_USER_NOT_LOGGED_IN;
    if (rc == DEVID_ERR_ARG || rc == DEVID_ERR_UNSUPPORTED)
        return type == DEVID_KEY_EC ? CKR_CURVE_NOT_SUPPORTED : CKR_KEY_SIZE_RANGE;
    return rv;
}
