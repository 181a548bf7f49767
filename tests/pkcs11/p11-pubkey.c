/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper: prints the public key of the object with CKA_ID (hex) as PEM, from its
 * CKA_PUBLIC_KEY_INFO, so scripts can check signatures with openssl.
 * usage: p11-pubkey MODULE ID-HEX */
#include "p11test.h"

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    unsigned char id[64];
    size_t idlen = strlen(argv[2]) / 2;
    for (size_t i = 0; i < idlen && i < sizeof(id); i++)
        if (sscanf(argv[2] + 2 * i, "%2hhx", &id[i]) != 1)
            return 2;
    p11_mod m;
    if (idlen > sizeof(id) || !mod_load(&m, argv[1]))
        return 1;
    CK_FUNCTION_LIST *f = m.f;
    CK_SESSION_HANDLE s;
    CK_SLOT_ID slot;
    CK_ULONG n = 1;
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_ID, id, idlen } };
    CK_OBJECT_HANDLE h;
    int rc = 1, found = 0;
    if (f->C_Initialize(NULL) == CKR_OK && f->C_GetSlotList(CK_TRUE, &slot, &n) == CKR_OK &&
        n == 1 && f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) == CKR_OK &&
        f->C_FindObjectsInit(s, t, 2) == CKR_OK && f->C_FindObjects(s, &h, 1, &n) == CKR_OK) {
        found = n == 1;
        if (!found) /* so a test can tell "gone" from any other failure */
            fprintf(stderr, "p11-pubkey: no public key with CKA_ID %s\n", argv[2]);
    }
    if (found) {
        CK_ULONG len = 0;
        unsigned char *spki = attr(f, s, h, CKA_PUBLIC_KEY_INFO, &len);
        const unsigned char *p = spki;
        EVP_PKEY *pk = spki ? d2i_PUBKEY(NULL, &p, (long)len) : NULL;
        if (pk && PEM_write_PUBKEY(stdout, pk) == 1)
            rc = 0;
        EVP_PKEY_free(pk);
        free(spki);
    }
    f->C_Finalize(NULL);
    mod_unload(&m);
    return rc;
}
