/* SPDX-License-Identifier: Apache-2.0 */
/* The p11-api test: CKO_DATA token objects. Created in a R/W session only (a R/O session gets
 * CKR_SESSION_READ_ONLY), written to the store as one group (attributes and a value file, the
 * value with the key files' mode when CKA_PRIVATE), found by class, label, application and
 * object id, read back, seen by another process, destroyed whole; values above 64 KiB are
 * refused with CKR_ATTRIBUTE_VALUE_INVALID. With a PIN set (also through pkcs11-tool: pins.sh):
 * private ones stay behind the login; C_InitToken removes them. */
#include "p11api.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DATA_MAX (64 * 1024)

/* The store's files ending in ext (".dat", ".attr"); the mode of the last one in *mode. */
static int store_count(const char *ext, mode_t *mode)
{
    const char *dir = getenv("DEVID_STORE");
    DIR *d = dir ? opendir(dir) : NULL;
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t l = strlen(e->d_name), el = strlen(ext);
        if (l <= el || strcmp(e->d_name + l - el, ext) != 0 || e->d_name[0] == '.')
            continue;
        n++;
        struct stat st;
        if (mode && fstatat(dirfd(d), e->d_name, &st, 0) == 0)
            *mode = st.st_mode & 07777;
    }
    if (d)
        closedir(d);
    return n;
}

static CK_ULONG find_by(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *out,
                        CK_ULONG max)
{
    CK_ULONG got = 0;
    if (f->C_FindObjectsInit(s, t, n) != CKR_OK)
        return 0;
    if (f->C_FindObjects(s, out, max, &got) != CKR_OK)
        got = 0;
    f->C_FindObjectsFinal(s);
    return got;
}

static bool value_is(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
                     const void *want, size_t len)
{
    CK_ULONG got = 0;
    unsigned char *v = attr(f, s, h, type, &got);
    bool ok = v && got == len && (!len || memcmp(v, want, len) == 0);
    free(v);
    return ok;
}

/* A separate process (fork, then its own C_Initialize) finds the object and reads its value. */
static bool seen_by_another_process(const char *label, const void *value, size_t len)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        CK_SESSION_HANDLE s;
        CK_OBJECT_HANDLE h = 0;
        int bad = f->C_Initialize(NULL) != CKR_OK;
        bad |= f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK;
        bad |= find(f, s, CKO_DATA, label, &h, 1) != 1;
        bad |= !value_is(s, h, CKA_VALUE, value, len);
        bad |= f->C_Finalize(NULL) != CKR_OK;
        _exit(bad);
    }
    int st = 0;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static const unsigned char data_oid[] = { 0x06, 0x03, 0x2A, 0x03, 0x05 }; /* 1.2.3.5 */
static const char data_value[] = "ca chain\n\x00\x01\x02 binary too";

/* The public data object h: found by class, label, application and object id; read back. */
static void data_object_found(CK_SESSION_HANDLE ro, CK_OBJECT_HANDLE h)
{
    CK_OBJECT_CLASS dc = CKO_DATA;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_OBJECT_HANDLE found[4];
    CHECK(find(f, ro, CKO_DATA, "tok-data", found, 4) == 1 && found[0] == h, "found by label");
    CK_ATTRIBUTE by_app[] = { { CKA_CLASS, &dc, sizeof(dc) },
                              { CKA_APPLICATION, (void *)"devid-app", 9 } };
    CHECK(find_by(ro, by_app, 2, found, 4) == 1 && found[0] == h, "found by application");
    CK_ATTRIBUTE by_oid[] = { { CKA_OBJECT_ID, (void *)data_oid, sizeof(data_oid) } };
    CHECK(find_by(ro, by_oid, 1, found, 4) == 1 && found[0] == h, "found by object id");
    CK_ATTRIBUTE other_app[] = { { CKA_CLASS, &dc, sizeof(dc) },
                                 { CKA_APPLICATION, (void *)"other", 5 } };
    CHECK(find_by(ro, other_app, 2, found, 4) == 0, "found by a wrong application");
    CHECK(value_is(ro, h, CKA_VALUE, data_value, sizeof(data_value)), "CKA_VALUE");
    CHECK(value_is(ro, h, CKA_APPLICATION, "devid-app", 9), "CKA_APPLICATION");
    CHECK(value_is(ro, h, CKA_OBJECT_ID, data_oid, sizeof(data_oid)), "CKA_OBJECT_ID");
    CHECK(value_is(ro, h, CKA_LABEL, "tok-data", 8), "CKA_LABEL");
    CHECK(value_is(ro, h, CKA_TOKEN, &yes, 1), "CKA_TOKEN true");
    CHECK(value_is(ro, h, CKA_PRIVATE, &no, 1), "CKA_PRIVATE false");
    CHECK(seen_by_another_process("tok-data", data_value, sizeof(data_value)),
          "another process sees the data object");
}

/* A private one (no PIN on this token: visible); its value file has the keys' mode; a value
 * above the limit and a bad object id refused. false if out of memory. */
static bool private_data_object(CK_SESSION_HANDLE rw, CK_SESSION_HANDLE ro, int dats)
{
    CK_OBJECT_CLASS dc = CKO_DATA;
    CK_BBOOL yes = CK_TRUE;
    CK_OBJECT_HANDLE found[4];
    unsigned char *big = calloc(1, DATA_MAX + 1);
    CHECK(big != NULL, "malloc");
    if (!big)
        return false;
    for (size_t i = 0; i < DATA_MAX + 1; i++)
        big[i] = (unsigned char)(i * 7);
    CK_ATTRIBUTE pt[] = { { CKA_CLASS, &dc, sizeof(dc) },
                          { CKA_TOKEN, &yes, sizeof(yes) },
                          { CKA_LABEL, (void *)"tok-private", 11 },
                          { CKA_VALUE, big, DATA_MAX },
                          { CKA_PRIVATE, &yes, sizeof(yes) } };
    CK_OBJECT_HANDLE hp = 0;
    CHECK_RV(f->C_CreateObject(rw, pt, 5, &hp), CKR_OK);
    CHECK(store_count(".dat", NULL) == dats + 2, "the private data object stored");
    CHECK(find(f, ro, CKO_DATA, "tok-private", found, 4) == 1 && found[0] == hp,
          "a private data object found (no PIN set)");
    CHECK(value_is(ro, hp, CKA_VALUE, big, DATA_MAX), "64 KiB value read back");
    CHECK(value_is(ro, hp, CKA_PRIVATE, &yes, 1), "CKA_PRIVATE true");
    CHECK(seen_by_another_process("tok-private", big, DATA_MAX),
          "another process sees the private data object");
    /* above the limit: a clear refusal, nothing written */
    pt[3].ulValueLen = DATA_MAX + 1;
    pt[2].ulValueLen = 7; /* "tok-pri" */
    CHECK_RV(f->C_CreateObject(rw, pt, 5, &hp), CKR_ATTRIBUTE_VALUE_INVALID);
    CHECK(store_count(".dat", NULL) == dats + 2, "an oversized value was written");
    free(big);
    CK_ATTRIBUTE bad_oid[] = { { CKA_CLASS, &dc, sizeof(dc) },
                               { CKA_TOKEN, &yes, sizeof(yes) },
                               { CKA_OBJECT_ID, (void *)"xyz", 3 } };
    CHECK_RV(f->C_CreateObject(rw, bad_oid, 3, &hp), CKR_ATTRIBUTE_VALUE_INVALID);
    return true;
}

/* h renamed in place, then destroyed with the private one: each group goes whole. */
static void data_objects_renamed_destroyed(CK_SESSION_HANDLE rw, CK_SESSION_HANDLE ro,
                                           CK_OBJECT_HANDLE h, int groups, int dats)
{
    CK_OBJECT_HANDLE found[4];
    CK_ATTRIBUTE relabel = { CKA_LABEL, (void *)"tok-data-2", 10 };
    CHECK_RV(f->C_SetAttributeValue(ro, h, &relabel, 1), CKR_SESSION_READ_ONLY);
    CHECK_RV(f->C_SetAttributeValue(rw, h, &relabel, 1), CKR_OK);
    CHECK(find(f, ro, CKO_DATA, "tok-data-2", found, 4) == 1 && found[0] == h, "renamed");
    CHECK(seen_by_another_process("tok-data-2", data_value, sizeof(data_value)),
          "another process sees the new label");
    CHECK_RV(f->C_DestroyObject(ro, h), CKR_SESSION_READ_ONLY);
    CHECK_RV(f->C_DestroyObject(rw, h), CKR_OK);
    CHECK(find(f, ro, CKO_DATA, "tok-data-2", found, 4) == 0, "destroyed");
    CHECK_RV(f->C_GetAttributeValue(ro, h, &relabel, 1), CKR_OBJECT_HANDLE_INVALID);
    CK_OBJECT_HANDLE hq = one(ro, CKO_DATA, "tok-private");
    CHECK_RV(f->C_DestroyObject(rw, hq), CKR_OK);
    CHECK(store_count(".attr", NULL) == groups && store_count(".dat", NULL) == dats,
          "destroyed data objects left files in the store");
}

void token_data_objects(CK_SESSION_HANDLE rw, CK_SESSION_HANDLE ro)
{
    CK_OBJECT_CLASS dc = CKO_DATA;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    int groups = store_count(".attr", NULL), dats = store_count(".dat", NULL);
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &dc, sizeof(dc) },
                         { CKA_TOKEN, &yes, sizeof(yes) },
                         { CKA_LABEL, (void *)"tok-data", 8 },
                         { CKA_APPLICATION, (void *)"devid-app", 9 },
                         { CKA_OBJECT_ID, (void *)data_oid, sizeof(data_oid) },
                         { CKA_VALUE, (void *)data_value, sizeof(data_value) },
                         { CKA_PRIVATE, &no, sizeof(no) } };
    CK_OBJECT_HANDLE h = 0;
    CHECK_RV(f->C_CreateObject(ro, t, 7, &h), CKR_SESSION_READ_ONLY);
    CHECK(store_count(".dat", NULL) == dats, "a R/O session wrote a data object");
    CHECK_RV(f->C_CreateObject(rw, t, 7, &h), CKR_OK);
    mode_t mode = 0;
    CHECK(store_count(".attr", NULL) == groups + 1 && store_count(".dat", &mode) == dats + 1,
          "a data token object is one store group with a value file");
    CHECK(mode == 0640, "a public data object's value has the certificates' mode (0%o)",
          (unsigned)mode);
    data_object_found(ro, h);
    if (!private_data_object(rw, ro, dats))
        return;
    data_objects_renamed_destroyed(rw, ro, h, groups, dats);
}

/* With a user PIN set (the test's last step: C_InitToken sets the SO PIN and clears the store):
 * a private data object is created only after login, is hidden from sessions and from other
 * processes without login, read after login; C_InitToken removes data objects whole. */
void token_data_objects_pin(void)
{
    static const char so[] = "87654321", user[] = "1234";
    CK_UTF8CHAR label[32];
    memset(label, ' ', sizeof(label));
    memcpy(label, "DevID", 5);
    CK_OBJECT_CLASS dc = CKO_DATA;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE priv[] = { { CKA_CLASS, &dc, sizeof(dc) },
                            { CKA_TOKEN, &yes, sizeof(yes) },
                            { CKA_PRIVATE, &yes, sizeof(yes) },
                            { CKA_LABEL, (void *)"pin-private", 11 },
                            { CKA_VALUE, (void *)"private value", 13 } };
    CK_ATTRIBUTE pub[] = { { CKA_CLASS, &dc, sizeof(dc) },
                           { CKA_TOKEN, &yes, sizeof(yes) },
                           { CKA_LABEL, (void *)"pin-public", 10 },
                           { CKA_VALUE, (void *)"public value", 12 } };
    CK_SESSION_HANDLE s = 0;
    CK_OBJECT_HANDLE h = 0, hp = 0, found[2];
    CHECK_RV(f->C_CloseAllSessions(0), CKR_OK);
    CHECK_RV(f->C_InitToken(0, (CK_UTF8CHAR *)so, 8, label), CKR_OK);
    CHECK(store_count(".dat", NULL) == 0, "C_InitToken left data values");
    CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s), CKR_OK);
    CHECK_RV(f->C_Login(s, CKU_SO, (CK_UTF8CHAR *)so, 8), CKR_OK);
    CHECK_RV(f->C_InitPIN(s, (CK_UTF8CHAR *)user, 4), CKR_OK);
    CHECK_RV(f->C_Logout(s), CKR_OK);

    CHECK_RV(f->C_CreateObject(s, priv, 5, &h), CKR_USER_NOT_LOGGED_IN);
    CHECK(store_count(".dat", NULL) == 0, "a refused private data object was written");
    CHECK_RV(f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)user, 4), CKR_OK);
    CHECK_RV(f->C_CreateObject(s, priv, 5, &h), CKR_OK);
    CHECK_RV(f->C_CreateObject(s, pub, 4, &hp), CKR_OK);
    CHECK(value_is(s, h, CKA_VALUE, "private value", 13), "private CKA_VALUE after login");
    CHECK(!seen_by_another_process("pin-private", "private value", 13),
          "another process without login sees the private data object");
    CHECK(seen_by_another_process("pin-public", "public value", 12),
          "another process without login sees the public data object");
    CHECK_RV(f->C_Logout(s), CKR_OK);
    CHECK(find(f, s, CKO_DATA, "pin-private", found, 2) == 0,
          "a private data object found without login");
    CK_ATTRIBUTE v = { CKA_VALUE, NULL, 0 };
    CHECK(f->C_GetAttributeValue(s, h, &v, 1) != CKR_OK,
          "a private data object's value read without login");
    CHECK(find(f, s, CKO_DATA, "pin-public", found, 2) == 1 && found[0] == hp,
          "a public data object found without login");
    CHECK(value_is(s, hp, CKA_VALUE, "public value", 12), "public CKA_VALUE without login");
    CHECK_RV(f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)user, 4), CKR_OK);
    CHECK(find(f, s, CKO_DATA, "pin-private", found, 2) == 1 && found[0] == h,
          "the private data object found after login");
    CHECK(value_is(s, h, CKA_VALUE, "private value", 13), "private CKA_VALUE after login again");
    CHECK(store_count(".dat", NULL) == 2, "two data values in the store");

    /* C_InitToken removes them whole */
    CHECK_RV(f->C_CloseAllSessions(0), CKR_OK);
    CHECK_RV(f->C_InitToken(0, (CK_UTF8CHAR *)so, 8, label), CKR_OK);
    CHECK(store_count(".dat", NULL) == 0 && store_count(".attr", NULL) == 0,
          "C_InitToken left data objects in the store");
    CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK);
    CHECK(find(f, s, CKO_DATA, NULL, found, 2) == 0, "data objects after C_InitToken");
    CHECK_RV(f->C_CloseSession(s), CKR_OK);
}
