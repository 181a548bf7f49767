/* SPDX-License-Identifier: Apache-2.0 */
/* The keyd replay: generating, deleting and renaming keys as keyd does it, certd's key
 * rotation through keyd, and a crash between the two renames of keyd's rename loop. Every
 * step looks its objects up again by label, as keyd does; each part loads the module afresh. */
#include "keyd.h"

#include <sys/wait.h>
#include <unistd.h>

static unsigned char *ec_point(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub,
                               CK_ULONG *len)
{
    return attr(f, s, pub, CKA_EC_POINT, len);
}

/* The public key of the pair `label` is the key whose CKA_EC_POINT was `point`. */
static bool same_key(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub,
                     const unsigned char *point, CK_ULONG plen)
{
    CK_ULONG len = 0;
    unsigned char *p = ec_point(f, s, pub, &len);
    bool same = p && point && len == plen && memcmp(p, point, len) == 0;
    free(p);
    return same;
}

static bool has_label(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                      const char *label)
{
    CK_ULONG len = 0;
    unsigned char *v = attr(f, s, h, CKA_LABEL, &len);
    bool same = v && len == strlen(label) && memcmp(v, label, len) == 0;
    free(v);
    return same;
}

/* A certificate for the pair's key (issued by a throwaway software CA), imported with the
 * key's CKA_ID so that it joins the key's store group. */
static CK_OBJECT_HANDLE import_cert(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub,
                                    const char *label)
{
    EVP_PKEY *pk = pub_from_attrs(f, s, pub), *ca = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    CK_ULONG idlen = 0;
    unsigned char *id = attr(f, s, pub, CKA_ID, &idlen), *der = NULL;
    int n = -1;
    if (pk && ca && x && name && id &&
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)label, -1, -1,
                                   0) == 1 &&
        X509_set_version(x, 2) == 1 && ASN1_INTEGER_set(X509_get_serialNumber(x), 7) == 1 &&
        X509_set_subject_name(x, name) == 1 && X509_set_issuer_name(x, name) == 1 &&
        X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
        X509_gmtime_adj(X509_getm_notAfter(x), 3600) && X509_set_pubkey(x, pk) == 1 &&
        X509_sign(x, ca, EVP_sha256()) > 0)
        n = i2d_X509(x, &der);
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_BBOOL t = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &cls, sizeof(cls) },
                            { CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
                            { CKA_TOKEN, &t, sizeof(t) },
                            { CKA_ID, id, idlen },
                            { CKA_LABEL, (void *)label, strlen(label) },
                            { CKA_VALUE, der, n > 0 ? (CK_ULONG)n : 0 } };
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CHECK(n > 0, "test certificate");
    if (n > 0)
        CHECK_RV(f->C_CreateObject(s, tmpl, 6, &h), CKR_OK);
    OPENSSL_free(der);
    free(id);
    X509_NAME_free(name);
    X509_free(x);
    EVP_PKEY_free(ca);
    EVP_PKEY_free(pk);
    return h;
}

/* CKA_LABEL and CKA_ID belong to one object: renaming one of a pair with its certificate
 * leaves the other two as they were, in this process and in a fresh load. */
static void one_object_renames(CK_SLOT_ID slot)
{
    p11_mod mod;
    CK_SESSION_HANDLE s = keyd_open(&mod, slot);
    CK_FUNCTION_LIST *f = mod.f;
    CK_OBJECT_HANDLE pub, priv, cert, h;
    CHECK_RV(keyd_generate(f, s, "obj", false, &pub, &priv), CKR_OK);
    cert = import_cert(f, s, pub, "obj-cert");
    CHECK(keyd_find(f, s, CKO_CERTIFICATE, "obj-cert", &h) && h == cert,
          "the certificate has the label it was created with");
    CHECK(has_label(f, s, pub, "obj") && has_label(f, s, priv, "obj"),
          "a certificate's label does not rename its key");
    CK_ULONG idlen = 0;
    unsigned char *id = attr(f, s, priv, CKA_ID, &idlen);

    CK_ATTRIBUTE a = { CKA_LABEL, (void *)"obj-public", 10 };
    CHECK_RV(f->C_SetAttributeValue(s, pub, &a, 1), CKR_OK);
    a = (CK_ATTRIBUTE){ CKA_LABEL, (void *)"obj-private", 11 };
    CHECK_RV(f->C_SetAttributeValue(s, priv, &a, 1), CKR_OK);
    a = (CK_ATTRIBUTE){ CKA_ID, (void *)"\x01\x02", 2 };
    CHECK_RV(f->C_SetAttributeValue(s, pub, &a, 1), CKR_OK);
    for (int round = 0; round < 2; round++) {
        const char *when = round ? "after a reload" : "in the renaming process";
        CHECK(keyd_find(f, s, CKO_PUBLIC_KEY, "obj-public", &pub) &&
                  keyd_find(f, s, CKO_PRIVATE_KEY, "obj-private", &priv) &&
                  keyd_find(f, s, CKO_CERTIFICATE, "obj-cert", &cert),
              "each object under its own label (%s)", when);
        CHECK(!keyd_find(f, s, CKO_PUBLIC_KEY, "obj", &h) &&
                  !keyd_find(f, s, CKO_PRIVATE_KEY, "obj", &h),
              "the old label is gone (%s)", when);
        CK_ULONG l1 = 0, l2 = 0;
        unsigned char *pid = attr(f, s, pub, CKA_ID, &l1), *cid = attr(f, s, cert, CKA_ID, &l2);
        CHECK(pid && l1 == 2 && !memcmp(pid, "\x01\x02", 2), "the public key's new CKA_ID (%s)",
              when);
        CHECK(cid && id && l2 == idlen && !memcmp(cid, id, idlen),
              "the certificate's CKA_ID unchanged (%s)", when);
        free(pid);
        free(cid);
        unsigned char *kid = attr(f, s, priv, CKA_ID, &l1);
        CHECK(kid && id && l1 == idlen && !memcmp(kid, id, idlen),
              "the private key's CKA_ID unchanged (%s)", when);
        free(kid);
        keyd_close(&mod);
        s = keyd_open(&mod, slot);
        f = mod.f;
        keyd_login(f, s);
    }
    /* handles do not outlive a reload: look the objects up again, as keyd does */
    CHECK(keyd_find(f, s, CKO_PUBLIC_KEY, "obj-public", &pub) &&
              keyd_find(f, s, CKO_PRIVATE_KEY, "obj-private", &priv) &&
              keyd_find(f, s, CKO_CERTIFICATE, "obj-cert", &cert),
          "each object under its own label after the last reload");
    ec_signatures(f, s, "obj (renamed)", pub, priv);
    CHECK_RV(f->C_DestroyObject(s, cert), CKR_OK);
    keyd_delete_pair(f, s, "obj-public");
    keyd_delete_pair(f, s, "obj-private");
    CHECK(!keyd_find(f, s, CKO_PRIVATE_KEY, "obj-private", &h), "'obj' deleted");
    free(id);
    keyd_close(&mod);
}

void generate_rotate_delete(CK_SLOT_ID slot)
{
    p11_mod mod;
    CK_SESSION_HANDLE s = keyd_open(&mod, slot);
    CK_FUNCTION_LIST *f = mod.f;
    CK_OBJECT_HANDLE pub = 0, priv = 0, tpub = 0, tpriv = 0, h;

    /* generate: EC P-256 (keyd tries it first) */
    CHECK_RV(keyd_generate(f, s, "device-id", false, &pub, &priv), CKR_OK);
    CHECK(pub && priv && attr_ulong(f, s, priv, CKA_KEY_TYPE) == CKK_EC, "generated EC pair");
    ec_signatures(f, s, "device-id", pub, priv);
    /* generating again under the same label replaces the pair */
    CHECK_RV(keyd_generate(f, s, "device-id", false, &pub, &priv), CKR_OK);
    CHECK(find(f, s, CKO_PRIVATE_KEY, "device-id", &h, 1) == 1 && h == priv,
          "one private key 'device-id' after re-generation");

    /* rotation: a new pair as id-temp, delete id, then keyd's rename loop */
    CHECK_RV(keyd_generate(f, s, "device-id-temp", false, &tpub, &tpriv), CKR_OK);
    CK_ULONG plen = 0;
    unsigned char *temp_point = ec_point(f, s, tpub, &plen);
    keyd_delete_pair(f, s, "device-id");
    CHECK(keyd_rename_pair(f, s, "device-id-temp", "device-id", false),
          "keyd's rename of 'device-id-temp' to 'device-id'");

    /* the rename persists: a fresh load of the module (as keyd does per operation) sees it */
    keyd_close(&mod);
    s = keyd_open(&mod, slot);
    f = mod.f;
    keyd_login(f, s);
    CHECK(keyd_key_pair(f, s, "device-id", &pub, &priv), "rotated pair not found as 'device-id'");
    CHECK(!keyd_find(f, s, CKO_PUBLIC_KEY, "device-id-temp", &h) &&
              !keyd_find(f, s, CKO_PRIVATE_KEY, "device-id-temp", &h),
          "'device-id-temp' remains");
    CHECK(same_key(f, s, pub, temp_point, plen),
          "'device-id' is not the key generated as 'device-id-temp'");
    free(temp_point);
    ec_signatures(f, s, "device-id (rotated)", pub, priv);

    /* delete */
    keyd_delete_pair(f, s, "device-id");
    CHECK(!keyd_find(f, s, CKO_PUBLIC_KEY, "device-id", &h) &&
              !keyd_find(f, s, CKO_PRIVATE_KEY, "device-id", &h),
          "'device-id' still there after deletion");

    /* RSA 2048 (keyd's fallback): DECRYPT asked for, so CKM_RSA_X_509 works */
    CK_RV rv = keyd_generate(f, s, "device-rsa", true, &pub, &priv);
    CHECK_RV(rv, CKR_OK);
    if (rv == CKR_OK)
        rsa_signatures(f, s, "device-rsa", pub, priv, true);
    keyd_delete_pair(f, s, "device-rsa");
    keyd_close(&mod);

    one_object_renames(slot);
}

/* One keyd operation in a load of its own (keyd may load the module for each). */
#define KEYD_STEP(mod, s, f, slot)                                                                 \
    for (int once_ = ((s) = keyd_open(&(mod), (slot)), (f) = (mod).f, keyd_login(f, s), 1); once_; \
         once_ = 0, keyd_close(&(mod)))

/* certd's renewal with key rotation, through keyd: create `id-temp`, sign with it (the CSR),
 * move it over `id` (delete pair `id`, rename `id-temp` → `id`), then load `id` afresh and
 * use it, its signature checked by OpenSSL. */
void certd_rotation(CK_SLOT_ID slot)
{
    p11_mod mod;
    CK_SESSION_HANDLE s;
    CK_FUNCTION_LIST *f;
    CK_OBJECT_HANDLE pub, priv;
    CK_ULONG plen = 0;
    unsigned char *temp_point = NULL;

    KEYD_STEP(mod, s, f, slot) /* the identity certd has today */
    CHECK_RV(keyd_generate(f, s, "aziot-id", false, &pub, &priv), CKR_OK);
    KEYD_STEP(mod, s, f, slot)
    { /* renewal: a new key as id-temp (keyd creates it if absent) */
        if (!keyd_key_pair(f, s, "aziot-id-temp", &pub, &priv))
            CHECK_RV(keyd_generate(f, s, "aziot-id-temp", false, &pub, &priv), CKR_OK);
    }
    KEYD_STEP(mod, s, f, slot)
    { /* the CSR is signed with it */
        CHECK(keyd_key_pair(f, s, "aziot-id-temp", &pub, &priv), "'aziot-id-temp' for the CSR");
        temp_point = ec_point(f, s, pub, &plen);
        ec_signatures(f, s, "aziot-id-temp", pub, priv);
    }
    KEYD_STEP(mod, s, f, slot)
    { /* the certificate came: move_key_pair(id-temp → id) */
        keyd_delete_pair(f, s, "aziot-id");
        CHECK(keyd_rename_pair(f, s, "aziot-id-temp", "aziot-id", false),
              "certd rotation: keyd's rename failed");
    }
    KEYD_STEP(mod, s, f, slot)
    { /* reload and use the rotated identity */
        CHECK(keyd_key_pair(f, s, "aziot-id", &pub, &priv), "'aziot-id' after the rotation");
        CHECK(same_key(f, s, pub, temp_point, plen), "'aziot-id' is not the new key");
        CHECK(!keyd_find(f, s, CKO_PUBLIC_KEY, "aziot-id-temp", &pub) &&
                  !keyd_find(f, s, CKO_PRIVATE_KEY, "aziot-id-temp", &priv),
              "'aziot-id-temp' left behind");
        CHECK(keyd_key_pair(f, s, "aziot-id", &pub, &priv), "'aziot-id' after the rotation");
        ec_signatures(f, s, "aziot-id (rotated)", pub, priv);
        keyd_delete_pair(f, s, "aziot-id");
    }
    free(temp_point);
}

/* keyd's rename loop stopped between its two renames (the process dies: no C_Finalize):
 * each object keeps a valid label, the one it had or the new one, as another process sees it
 * at once. */
void crash_between_renames(CK_SLOT_ID slot)
{
    p11_mod mod;
    CK_SESSION_HANDLE s;
    CK_FUNCTION_LIST *f;
    CK_OBJECT_HANDLE pub, priv, h;
    CK_ULONG plen = 0;
    unsigned char *temp_point = NULL;
    KEYD_STEP(mod, s, f, slot)
    {
        CHECK_RV(keyd_generate(f, s, "crash", false, &pub, &priv), CKR_OK);
        CHECK_RV(keyd_generate(f, s, "crash-temp", false, &pub, &priv), CKR_OK);
        temp_point = ec_point(f, s, pub, &plen);
        keyd_delete_pair(f, s, "crash");
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        KEYD_STEP(mod, s, f, slot)
        {
            bool ok = keyd_rename_pair(f, s, "crash-temp", "crash", true);
            _exit(ok ? 0 : 1); /* dies here: no C_Finalize, no C_CloseSession */
        }
        _exit(2);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "the renaming child: status 0x%x", st);
    KEYD_STEP(mod, s, f, slot)
    {
        CHECK(keyd_find(f, s, CKO_PUBLIC_KEY, "crash", &pub) &&
                  same_key(f, s, pub, temp_point, plen),
              "the public key renamed before the crash is found under its new label");
        CHECK(!keyd_find(f, s, CKO_PUBLIC_KEY, "crash-temp", &h),
              "the renamed public key is still found under its old label");
        CHECK(keyd_find(f, s, CKO_PRIVATE_KEY, "crash-temp", &priv),
              "the private key not renamed yet is not found under its old label");
        CHECK(!keyd_find(f, s, CKO_PRIVATE_KEY, "crash", &h),
              "the private key took the public key's new label");
        /* finishing the rename makes the pair whole again */
        CK_ATTRIBUTE a = { CKA_LABEL, (void *)"crash", 5 };
        CHECK_RV(f->C_SetAttributeValue(s, priv, &a, 1), CKR_OK);
        CHECK(keyd_key_pair(f, s, "crash", &pub, &priv), "'crash' after finishing the rename");
        ec_signatures(f, s, "crash (finished)", pub, priv);
        keyd_delete_pair(f, s, "crash");
    }
    free(temp_point);
}
