/* SPDX-License-Identifier: Apache-2.0 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "p11.h"

static int fail_rv(char *err, size_t errlen, const char *what, CK_RV rv)
{
    snprintf(err, errlen, "%s: CKR 0x%lx", what, (unsigned long)rv);
    return -1;
}

int p11_load(p11_mod *m, const char *path, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl) {
        snprintf(err, errlen, "dlopen: %s", dlerror());
        return -1;
    }
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList");
    if (!get) {
        snprintf(err, errlen, "%s exports no C_GetFunctionList", path);
        return -1;
    }
    CK_RV rv = get(&m->f);
    if (rv != CKR_OK || !m->f)
        return fail_rv(err, errlen, "C_GetFunctionList", rv);
    return 0;
}

int p11_initialize(p11_mod *m, char *err, size_t errlen)
{
    CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };
    CK_RV rv = m->f->C_Initialize(&args);
    if (rv != CKR_OK)
        return fail_rv(err, errlen, "C_Initialize", rv);
    m->initialized = true;
    return 0;
}

/* PKCS#11 labels are blank-padded, not NUL-terminated. */
static bool label_is(const unsigned char *field, size_t size, const char *want)
{
    size_t n = strlen(want);
    if (n > size || memcmp(field, want, n))
        return false;
    for (size_t i = n; i < size; i++)
        if (field[i] != ' ' && field[i] != 0)
            return false;
    return true;
}

int p11_open(p11_mod *m, const char *token, char *err, size_t errlen)
{
    CK_SLOT_ID slots[32];
    CK_ULONG n = 32;
    CK_RV rv = m->f->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv != CKR_OK)
        return fail_rv(err, errlen, "C_GetSlotList", rv);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        if (m->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        if (token && !label_is(ti.label, sizeof(ti.label), token))
            continue;
        rv = m->f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL, NULL, &m->session);
        if (rv != CKR_OK)
            return fail_rv(err, errlen, "C_OpenSession", rv);
        m->has_session = true;
        return 0;
    }
    snprintf(err, errlen, "no token%s%s among %lu slot(s)", token ? " labelled " : "",
             token ? token : "", (unsigned long)n);
    return -1;
}

int p11_login(p11_mod *m, const char *pin, char *err, size_t errlen)
{
    if (!pin)
        return 0;
    CK_RV rv = m->f->C_Login(m->session, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
        return fail_rv(err, errlen, "C_Login", rv);
    return 0;
}

static int find_one(p11_mod *m, CK_OBJECT_CLASS cls, const char *label, CK_OBJECT_HANDLE *out,
                    char *err, size_t errlen)
{
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &cls, sizeof(cls) },
        { CKA_LABEL, (void *)label, strlen(label) },
    };
    CK_ULONG found = 0;
    CK_RV rv = m->f->C_FindObjectsInit(m->session, tmpl, 2);
    if (rv != CKR_OK)
        return fail_rv(err, errlen, "C_FindObjectsInit", rv);
    rv = m->f->C_FindObjects(m->session, out, 1, &found);
    m->f->C_FindObjectsFinal(m->session);
    if (rv != CKR_OK)
        return fail_rv(err, errlen, "C_FindObjects", rv);
    if (found != 1) {
        snprintf(err, errlen, "no %s object labelled %s",
                 cls == CKO_PRIVATE_KEY ? "private key" : "public key", label);
        return -1;
    }
    return 0;
}

int p11_find_key(p11_mod *m, const char *label, char *err, size_t errlen)
{
    return find_one(m, CKO_PRIVATE_KEY, label, &m->key, err, errlen);
}

int p11_sign(p11_mod *m, const unsigned char *dgst, size_t dgst_len, unsigned char *sig,
             size_t *sig_len, char *err, size_t errlen)
{
    CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
    CK_RV rv = m->f->C_SignInit(m->session, &mech, m->key);
    if (rv != CKR_OK)
        return fail_rv(err, errlen, "C_SignInit", rv);
    CK_ULONG len = *sig_len;
    rv = m->f->C_Sign(m->session, (CK_BYTE_PTR)dgst, dgst_len, sig, &len);
    if (rv != CKR_OK)
        return fail_rv(err, errlen, "C_Sign", rv);
    *sig_len = len;
    return 0;
}

int p11_ec_point(p11_mod *m, const char *label, unsigned char *out, size_t *len, char *err,
                 size_t errlen)
{
    CK_OBJECT_HANDLE pub;
    if (find_one(m, CKO_PUBLIC_KEY, label, &pub, err, errlen))
        return -1;
    unsigned char buf[160];
    CK_ATTRIBUTE a = { CKA_EC_POINT, buf, sizeof(buf) };
    CK_RV rv = m->f->C_GetAttributeValue(m->session, pub, &a, 1);
    if (rv != CKR_OK)
        return fail_rv(err, errlen, "C_GetAttributeValue(CKA_EC_POINT)", rv);
    const unsigned char *p = buf;
    size_t n = a.ulValueLen;
    if (n == 67 && p[0] == 0x04 && p[1] == 65 && p[2] == 0x04) {
        p += 2; /* DER OCTET STRING around the point (PKCS#11 2.40) */
        n -= 2;
    }
    if (n > *len) {
        snprintf(err, errlen, "EC point too long");
        return -1;
    }
    memcpy(out, p, n);
    *len = n;
    return 0;
}

void p11_close(p11_mod *m)
{
    if (m->has_session)
        m->f->C_CloseSession(m->session);
    if (m->initialized)
        m->f->C_Finalize(NULL);
    if (m->dl)
        dlclose(m->dl);
    memset(m, 0, sizeof(*m));
}
