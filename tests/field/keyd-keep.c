/* SPDX-License-Identifier: Apache-2.0 */
/* keyd making the keys it keeps on a device, with keyd's own building blocks (the keyd replay's
 * tests/pkcs11/keyd-keys.c): the module loaded as keyd loads it, the token found, a login with
 * the user PIN if one is known, then keyd's generate_key_pair (EC P-256) and its HMAC-SHA256
 * key under LABEL and LABEL-hmac, each used once. Unlike the replay, nothing is deleted: what
 * keyd leaves in the store is what tests/field/keyd-as-user.sh looks at.
 * usage: keyd-keep MODULE LABEL [pin]   (exit status 0 if every step worked) */
#include "keyd.h"

#include <stdio.h>

const char *module_path, *fixture;
bool identities, rsa, pin_set;

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "pin"))) {
        fprintf(stderr, "usage: keyd-keep MODULE LABEL [pin]\n");
        return 2;
    }
    module_path = argv[1];
    const char *label = argv[2];
    pin_set = argc == 4;
    char hmac_label[256];
    snprintf(hmac_label, sizeof(hmac_label), "%s-hmac", label);

    /* the token's slot, as keyd finds it: the one slot with a token */
    p11_mod probe;
    if (!mod_load(&probe, module_path))
        return 1;
    CK_SLOT_ID slot = 0;
    CK_ULONG n = 1;
    CHECK_RV(probe.f->C_Initialize(&keyd_args), CKR_OK);
    CHECK_RV(probe.f->C_GetSlotList(CK_TRUE, &slot, &n), CKR_OK);
    CHECK(n == 1, "%lu slots with a token", (unsigned long)n);
    CHECK_RV(probe.f->C_Finalize(NULL), CKR_OK);
    mod_unload(&probe);

    p11_mod mod;
    CK_SESSION_HANDLE s = keyd_open(&mod, slot);
    CK_FUNCTION_LIST *f = mod.f;
    CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE, key = CK_INVALID_HANDLE;
    keyd_login(f, s);
    CHECK_RV(keyd_generate(f, s, label, false, &pub, &priv), CKR_OK);
    keyd_login(f, s);
    CHECK(keyd_key_pair(f, s, label, &pub, &priv), "'%s' not found after generating it", label);
    ec_signatures(f, s, label, pub, priv);

    keyd_login(f, s);
    CHECK_RV(keyd_generate_hmac(f, s, hmac_label, &key), CKR_OK);
    CHECK(keyd_find(f, s, CKO_SECRET_KEY, hmac_label, &key), "'%s' not found", hmac_label);
    CK_MECHANISM mac = { CKM_SHA256_HMAC, NULL, 0 };
    unsigned char m[32];
    CK_ULONG mlen = sizeof(m);
    CHECK_RV(f->C_SignInit(s, &mac, key), CKR_OK);
    CHECK_RV(f->C_Sign(s, (CK_BYTE *)"keyd data", 9, m, &mlen), CKR_OK);
    CHECK_RV(f->C_VerifyInit(s, &mac, key), CKR_OK);
    CHECK_RV(f->C_Verify(s, (CK_BYTE *)"keyd data", 9, m, mlen), CKR_OK);
    keyd_close(&mod);
    return check_summary("keyd-keep");
}
