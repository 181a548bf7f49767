/* SPDX-License-Identifier: Apache-2.0 */
/* C_GenerateRandom: the TPM's generator, for callers that ask the token for randomness. */
#include "p11.h"

CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData, CK_ULONG ulRandomLen)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!RandomData && ulRandomLen)
        return p11_leave(CKR_ARGUMENTS_BAD);
    if (!ulRandomLen)
        return p11_leave(CKR_OK);
    return p11_leave(p11_rv(devid_tpm_random(RandomData, ulRandomLen), "TPM random"));
}

CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!pSeed && ulSeedLen)
        return p11_leave(CKR_ARGUMENTS_BAD);
    /* TPM2_StirRandom exists, but nothing should depend on seeding a TPM. */
    return p11_leave(CKR_RANDOM_SEED_NOT_SUPPORTED);
}
