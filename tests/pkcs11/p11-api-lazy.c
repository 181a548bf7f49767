/* SPDX-License-Identifier: Apache-2.0 */
/* p11-api: lazy object discovery (the cold start). From C_Initialize to the first signature
 * with a factory key found by class and label, the module sends at most: one
 * TPM2_GetCapability (which persistent handles exist), one TPM2_ReadPublic for the EK (the
 * token serial number), one for the key, and the TPM2_Sign. Certificates are read only when a
 * search can match one. Counted by core's own counter (devid_tpm_command_count in the
 * module's libdevid-core). */
#include "p11api.h"

#include <dlfcn.h>

typedef uint64_t (*count_fn)(void);

void lazy_discovery(void)
{
    void *core = dlopen("libdevid-core.so.0", RTLD_NOW | RTLD_NOLOAD);
    count_fn count = core ? (count_fn)dlsym(core, "devid_tpm_command_count") : NULL;
    CHECK(count != NULL, "the module's core counter: %s", core ? "no symbol" : dlerror());
    if (!count) {
        if (core)
            dlclose(core);
        return;
    }
    CHECK_RV(f->C_Initialize(NULL), CKR_OK);
    uint64_t c0 = count();
    CK_SLOT_ID slot = 0;
    CK_ULONG n = 1;
    CK_TOKEN_INFO ti;
    CK_SESSION_HANDLE s = 0;
    CHECK_RV(f->C_GetSlotList(CK_TRUE, &slot, &n), CKR_OK);
    CHECK_RV(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    CHECK_RV(f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s), CKR_OK);
    uint64_t c_open = count();
    CHECK(c_open - c0 <= 2, "opening the token: %llu TPM commands (GetCapability, ReadPublic)",
          (unsigned long long)(c_open - c0));
    CK_OBJECT_HANDLE key = one(s, CKO_PRIVATE_KEY, "LDevID");
    CHECK(count() == c_open, "finding a private key by class and label: no TPM command");
    CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
    unsigned char dg[32] = { 1, 2, 3 }, sig[64];
    CK_ULONG siglen = sizeof(sig);
    CHECK_RV(f->C_SignInit(s, &m, key), CKR_OK);
    CHECK_RV(f->C_Sign(s, dg, sizeof(dg), sig, &siglen), CKR_OK);
    uint64_t c_sign = count();
    CHECK(c_sign - c_open == 2, "first signature: %llu TPM commands (ReadPublic, Sign)",
          (unsigned long long)(c_sign - c_open));
    /* a second signature is one command */
    CHECK_RV(f->C_SignInit(s, &m, key), CKR_OK);
    CHECK_RV(f->C_Sign(s, dg, sizeof(dg), sig, &siglen), CKR_OK);
    CHECK(count() - c_sign == 1, "second signature: one TPM command");
    /* certificates come when a search can match one, with their CA chain objects */
    CK_OBJECT_HANDLE h[16];
    uint64_t c_cert = count();
    CHECK(find(f, s, CKO_CERTIFICATE, "LDevID", h, 16) == 1, "LDevID certificate found");
    CHECK(count() > c_cert, "certificates read on the first certificate search");
    c_cert = count();
    CHECK(find(f, s, CKO_CERTIFICATE, "IDevID", h, 16) == 1, "IDevID certificate found");
    CHECK(count() == c_cert, "and only once");
    CHECK_RV(f->C_Finalize(NULL), CKR_OK);
    dlclose(core);
}
