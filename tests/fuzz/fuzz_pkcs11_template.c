/* SPDX-License-Identifier: Apache-2.0 */
/* PKCS#11 attribute templates through the module's real entry points, against a real swtpm:
 * C_CreateObject, C_FindObjectsInit (+ C_FindObjects), C_GenerateKeyPair, C_GenerateKey,
 * C_GetAttributeValue and C_SetAttributeValue. Runs under tests/fixture/with-swtpm (ecc): the
 * module is initialised once per process with one R/W session (no login); every input is a
 * sequence of calls, and everything an input created is destroyed at its end, so the store
 * does not grow and inputs do not depend on one another.
 *
 * Input: a sequence of operations, each `op` (1 byte, mod 6) then its arguments:
 *   0 C_CreateObject     template
 *   1 C_FindObjectsInit  template; C_FindObjects (up to 16), C_FindObjectsFinal
 *   2 C_GenerateKeyPair  mechanism (1 byte: EC, RSA, or none of ours), public, private template
 *   3 C_GenerateKey      mechanism (1 byte: generic secret, AES, or other), template
 *   4 C_GetAttributeValue object (1 byte, see below), template
 *   5 C_SetAttributeValue object, template
 * template: count (1 byte, mod 9), then per attribute: type (1 byte: index into `types`, or
 *   0xFF and 4 raw bytes), length (1 byte; 0xFE: 2 bytes follow, big-endian; 0xFF: pValue
 *   NULL, length next byte), the value bytes (what is left of the input if it is shorter).
 * object: index into the handles known (factory objects found at start, then those this
 *   input created or found); 0xFF and 4 raw bytes: a raw handle.
 *
 * Properties: no crash, leak or UB; every CKR is one the function may return and never
 * CKR_GENERAL_ERROR / CKR_FUNCTION_FAILED / CKR_HOST_MEMORY / CKR_DEVICE_ERROR; a successful
 * create/generate returns distinct, valid handles; C_GetAttributeValue never claims more bytes
 * than the buffer (exact-size buffers, so ASan sees an overrun) and its two-call contract holds
 * (the size given for a NULL pValue is then enough, and the value is as long); after the input
 * the token lists exactly the objects it listed before.
 *
 * RSA key sizes the module accepts above 2048 are generated at 2048: swtpm takes seconds for
 * 3072/4096-bit primes, beyond libFuzzer's timeout. Sizes the module refuses are kept. */
#include "fuzz.h"

#include <p11-kit/pkcs11.h>
#include <stdbool.h>
#include <string.h>

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list);

static CK_FUNCTION_LIST *f;
static CK_SESSION_HANDLE session;
static CK_OBJECT_HANDLE *initial;
static size_t n_initial;

static const CK_ATTRIBUTE_TYPE types[] = {
    CKA_CLASS,
    CKA_TOKEN,
    CKA_PRIVATE,
    CKA_LABEL,
    CKA_APPLICATION,
    CKA_VALUE,
    CKA_OBJECT_ID,
    CKA_CERTIFICATE_TYPE,
    CKA_ISSUER,
    CKA_SERIAL_NUMBER,
    CKA_TRUSTED,
    CKA_CERTIFICATE_CATEGORY,
    CKA_CHECK_VALUE,
    CKA_KEY_TYPE,
    CKA_SUBJECT,
    CKA_ID,
    CKA_SENSITIVE,
    CKA_ENCRYPT,
    CKA_DECRYPT,
    CKA_WRAP,
    CKA_UNWRAP,
    CKA_SIGN,
    CKA_SIGN_RECOVER,
    CKA_VERIFY,
    CKA_VERIFY_RECOVER,
    CKA_DERIVE,
    CKA_START_DATE,
    CKA_END_DATE,
    CKA_MODULUS,
    CKA_MODULUS_BITS,
    CKA_PUBLIC_EXPONENT,
    CKA_PRIVATE_EXPONENT,
    CKA_VALUE_LEN,
    CKA_EXTRACTABLE,
    CKA_LOCAL,
    CKA_NEVER_EXTRACTABLE,
    CKA_ALWAYS_SENSITIVE,
    CKA_KEY_GEN_MECHANISM,
    CKA_MODIFIABLE,
    CKA_COPYABLE,
    CKA_DESTROYABLE,
    CKA_EC_PARAMS,
    CKA_EC_POINT,
    CKA_ALWAYS_AUTHENTICATE,
    CKA_WRAP_WITH_TRUSTED,
    CKA_ALLOWED_MECHANISMS,
    CKA_PUBLIC_KEY_INFO,
    CKA_HASH_OF_SUBJECT_PUBLIC_KEY,
    CKA_HASH_OF_ISSUER_PUBLIC_KEY,
    CKA_URL,
    CKA_NAME_HASH_ALGORITHM,
    0x4 /* CKA_UNIQUE_ID (3.0) */
};
#define N_TYPES (sizeof(types) / sizeof(types[0]))

/* ---- reading the input ---- */

typedef struct in {
    const uint8_t *p;
    size_t left;
} in;

static uint8_t byte(in *s)
{
    if (!s->left)
        return 0;
    s->left--;
    return *s->p++;
}

static uint32_t u32(in *s)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | byte(s);
    return v;
}

#define MAX_ATTRS 8

/* The template's values are copies of exactly their length (ASan sees reads past them). */
typedef struct tmpl {
    CK_ATTRIBUTE a[MAX_ATTRS];
    CK_ULONG n;
} tmpl;

static void tmpl_read(in *s, tmpl *t)
{
    t->n = byte(s) % (MAX_ATTRS + 1);
    for (CK_ULONG i = 0; i < t->n; i++) {
        uint8_t ty = byte(s);
        t->a[i].type = ty == 0xFF ? (CK_ATTRIBUTE_TYPE)u32(s) : types[ty % N_TYPES];
        size_t len = byte(s);
        bool null = len == 0xFF;
        if (null)
            len = byte(s);
        else if (len == 0xFE) /* long values: certificates */
            len = (size_t)byte(s) << 8 | byte(s);
        if (!null && len > s->left)
            len = s->left;
        t->a[i].ulValueLen = len;
        t->a[i].pValue = NULL;
        if (!null) {
            t->a[i].pValue = malloc(len ? len : 1);
            FUZZ_ASSERT(t->a[i].pValue, "malloc");
            memcpy(t->a[i].pValue, s->p, len);
            s->p += len;
            s->left -= len;
        }
    }
}

static void tmpl_free(tmpl *t)
{
    for (CK_ULONG i = 0; i < t->n; i++)
        free(t->a[i].pValue);
    t->n = 0;
}

/* See the header: RSA sizes above 2048 the module would accept become 2048. */
static void rsa_bits_cap(tmpl *t)
{
    for (CK_ULONG i = 0; i < t->n; i++) {
        if (t->a[i].type != CKA_MODULUS_BITS || !t->a[i].pValue ||
            t->a[i].ulValueLen != sizeof(CK_ULONG))
            continue;
        CK_ULONG bits;
        memcpy(&bits, t->a[i].pValue, sizeof(bits));
        if (bits == 3072 || bits == 4096) {
            bits = 2048;
            memcpy(t->a[i].pValue, &bits, sizeof(bits));
        }
    }
}

/* ---- handles ---- */

#define MAX_HANDLES 64

typedef struct handles {
    CK_OBJECT_HANDLE known[MAX_HANDLES]; /* initial objects, then created and found */
    size_t n_known;
    CK_OBJECT_HANDLE created[MAX_HANDLES];
    size_t n_created;
} handles;

static void know(handles *h, CK_OBJECT_HANDLE o)
{
    for (size_t i = 0; i < h->n_known; i++)
        if (h->known[i] == o)
            return;
    if (h->n_known < MAX_HANDLES)
        h->known[h->n_known++] = o;
}

static void created(handles *h, CK_OBJECT_HANDLE o)
{
    FUZZ_ASSERT(o != CK_INVALID_HANDLE, "a created object has handle 0");
    for (size_t i = 0; i < h->n_created; i++)
        FUZZ_ASSERT(h->created[i] != o, "handle %lu returned twice", (unsigned long)o);
    FUZZ_ASSERT(h->n_created < MAX_HANDLES, "too many objects");
    h->created[h->n_created++] = o;
    know(h, o);
}

static CK_OBJECT_HANDLE pick(in *s, const handles *h)
{
    uint8_t b = byte(s);
    if (b == 0xFF)
        return u32(s);
    return h->n_known ? h->known[b % h->n_known] : 0;
}

/* ---- return codes ---- */

static bool trace; /* FUZZ_TRACE=1: print every call's CKR (to see what a seed reaches) */

static void rv_ok(CK_RV rv, const char *fn)
{
    if (trace)
        fprintf(stderr, "  %s: 0x%lx\n", fn, (unsigned long)rv);
    switch (rv) {
    case CKR_GENERAL_ERROR:
    case CKR_FUNCTION_FAILED:
    case CKR_HOST_MEMORY:
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY:
    case CKR_DEVICE_REMOVED:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_OPERATION_ACTIVE:
        FUZZ_ASSERT(0, "%s returned 0x%lx", fn, (unsigned long)rv);
    default:
        break;
    }
}

/* ---- operations ---- */

static void find(in *s, handles *h)
{
    tmpl t;
    tmpl_read(s, &t);
    CK_RV rv = f->C_FindObjectsInit(session, t.a, t.n);
    rv_ok(rv, "C_FindObjectsInit");
    if (rv == CKR_OK) {
        CK_OBJECT_HANDLE found[16];
        CK_ULONG n = 0;
        rv = f->C_FindObjects(session, found, 16, &n);
        FUZZ_ASSERT(rv == CKR_OK && n <= 16, "C_FindObjects: 0x%lx, %lu", (unsigned long)rv,
                    (unsigned long)n);
        for (CK_ULONG i = 0; i < n; i++)
            know(h, found[i]);
        FUZZ_ASSERT(f->C_FindObjectsFinal(session) == CKR_OK, "C_FindObjectsFinal");
    }
    tmpl_free(&t);
}

static void get_attrs(in *s, handles *h)
{
    CK_OBJECT_HANDLE o = pick(s, h);
    tmpl t;
    tmpl_read(s, &t);
    CK_ULONG given[MAX_ATTRS];
    for (CK_ULONG i = 0; i < t.n; i++)
        given[i] = t.a[i].ulValueLen;
    CK_RV rv = f->C_GetAttributeValue(session, o, t.a, t.n);
    rv_ok(rv, "C_GetAttributeValue");
    FUZZ_ASSERT(rv == CKR_OK || rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID ||
                    rv == CKR_BUFFER_TOO_SMALL || rv == CKR_OBJECT_HANDLE_INVALID ||
                    rv == CKR_ARGUMENTS_BAD,
                "C_GetAttributeValue: 0x%lx", (unsigned long)rv);
    if (rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_ARGUMENTS_BAD) {
        tmpl_free(&t);
        return;
    }
    /* Two-call contract: ask for the sizes (pValue NULL), then fetch into exact buffers. */
    for (CK_ULONG i = 0; i < t.n; i++) {
        CK_ULONG got = t.a[i].ulValueLen;
        if (t.a[i].pValue && got != CK_UNAVAILABLE_INFORMATION)
            FUZZ_ASSERT(got <= given[i], "attribute 0x%lx: %lu bytes in a %lu-byte buffer",
                        (unsigned long)t.a[i].type, (unsigned long)got, (unsigned long)given[i]);
        free(t.a[i].pValue);
        t.a[i].pValue = NULL;
        t.a[i].ulValueLen = 0;
    }
    rv = f->C_GetAttributeValue(session, o, t.a, t.n);
    FUZZ_ASSERT(rv != CKR_BUFFER_TOO_SMALL, "sizes only: CKR_BUFFER_TOO_SMALL");
    CK_ULONG size[MAX_ATTRS];
    for (CK_ULONG i = 0; i < t.n; i++) {
        size[i] = t.a[i].ulValueLen;
        if (size[i] != CK_UNAVAILABLE_INFORMATION) {
            FUZZ_ASSERT(size[i] < (1u << 20), "attribute 0x%lx: %lu bytes",
                        (unsigned long)t.a[i].type, (unsigned long)size[i]);
            t.a[i].pValue = malloc(size[i] ? size[i] : 1);
            FUZZ_ASSERT(t.a[i].pValue, "malloc");
        }
    }
    rv = f->C_GetAttributeValue(session, o, t.a, t.n);
    rv_ok(rv, "C_GetAttributeValue");
    FUZZ_ASSERT(rv != CKR_BUFFER_TOO_SMALL, "a buffer of the size given was too small");
    for (CK_ULONG i = 0; i < t.n; i++)
        FUZZ_ASSERT(t.a[i].ulValueLen == size[i], "attribute 0x%lx: %lu bytes, said %lu",
                    (unsigned long)t.a[i].type, (unsigned long)t.a[i].ulValueLen,
                    (unsigned long)size[i]);
    tmpl_free(&t);
}

static void run_op(in *s, handles *h)
{
    tmpl t, u;
    CK_RV rv;
    CK_OBJECT_HANDLE o = 0, o2 = 0;
    switch (byte(s) % 6) {
    case 0:
        tmpl_read(s, &t);
        rv = f->C_CreateObject(session, t.a, t.n, &o);
        rv_ok(rv, "C_CreateObject");
        if (rv == CKR_OK)
            created(h, o);
        tmpl_free(&t);
        break;
    case 1:
        find(s, h);
        break;
    case 2: {
        static const CK_MECHANISM_TYPE mechs[] = { CKM_EC_KEY_PAIR_GEN, CKM_RSA_PKCS_KEY_PAIR_GEN,
                                                   CKM_DSA_KEY_PAIR_GEN,
                                                   CKM_EC_EDWARDS_KEY_PAIR_GEN };
        CK_MECHANISM m = { mechs[byte(s) % 4], NULL, 0 };
        tmpl_read(s, &t);
        tmpl_read(s, &u);
        if (m.mechanism == CKM_RSA_PKCS_KEY_PAIR_GEN)
            rsa_bits_cap(&t);
        rv = f->C_GenerateKeyPair(session, &m, t.a, t.n, u.a, u.n, &o, &o2);
        rv_ok(rv, "C_GenerateKeyPair");
        if (rv == CKR_OK) {
            created(h, o);
            created(h, o2);
        }
        tmpl_free(&t);
        tmpl_free(&u);
        break;
    }
    case 3: {
        static const CK_MECHANISM_TYPE mechs[] = { CKM_GENERIC_SECRET_KEY_GEN, CKM_AES_KEY_GEN,
                                                   CKM_SHA256_KEY_DERIVATION };
        CK_MECHANISM m = { mechs[byte(s) % 3], NULL, 0 };
        tmpl_read(s, &t);
        rv = f->C_GenerateKey(session, &m, t.a, t.n, &o);
        rv_ok(rv, "C_GenerateKey");
        if (rv == CKR_OK)
            created(h, o);
        tmpl_free(&t);
        break;
    }
    case 4:
        get_attrs(s, h);
        break;
    case 5:
        o = pick(s, h);
        tmpl_read(s, &t);
        rv_ok(f->C_SetAttributeValue(session, o, t.a, t.n), "C_SetAttributeValue");
        tmpl_free(&t);
        break;
    }
}

static size_t count_objects(CK_OBJECT_HANDLE *out, size_t max)
{
    FUZZ_ASSERT(f->C_FindObjectsInit(session, NULL, 0) == CKR_OK, "C_FindObjectsInit(all)");
    size_t total = 0;
    for (;;) {
        CK_OBJECT_HANDLE batch[64];
        CK_ULONG n = 0;
        FUZZ_ASSERT(f->C_FindObjects(session, batch, 64, &n) == CKR_OK, "C_FindObjects");
        if (n == 0)
            break;
        for (CK_ULONG i = 0; i < n; i++, total++)
            if (out && total < max)
                out[total] = batch[i];
    }
    FUZZ_ASSERT(f->C_FindObjectsFinal(session) == CKR_OK, "C_FindObjectsFinal");
    return total;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!getenv("DEVID_TCTI")) {
        fprintf(stderr, "fuzz_pkcs11_template: run under tests/fixture/with-swtpm ecc\n");
        exit(2);
    }
    trace = getenv("FUZZ_TRACE") && !strcmp(getenv("FUZZ_TRACE"), "1");
    FUZZ_ASSERT(C_GetFunctionList(&f) == CKR_OK, "C_GetFunctionList");
    FUZZ_ASSERT(f->C_Initialize(NULL) == CKR_OK, "C_Initialize");
    FUZZ_ASSERT(f->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &session) ==
                    CKR_OK,
                "C_OpenSession");
    n_initial = count_objects(NULL, 0);
    initial = calloc(n_initial ? n_initial : 1, sizeof(*initial));
    FUZZ_ASSERT(initial, "calloc");
    count_objects(initial, n_initial);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    handles h = { .n_known = 0 };
    for (size_t i = 0; i < n_initial && i < MAX_HANDLES; i++)
        know(&h, initial[i]);
    in s = { data, size };
    for (int ops = 0; s.left && ops < 16; ops++)
        run_op(&s, &h);
    /* Clean up what this input made: the store is as before. */
    for (size_t i = 0; i < h.n_created; i++) {
        CK_RV rv = f->C_DestroyObject(session, h.created[i]);
        /* a key pair's second half may have gone with the first */
        FUZZ_ASSERT(rv == CKR_OK || rv == CKR_OBJECT_HANDLE_INVALID,
                    "C_DestroyObject(%lu) of a created object: 0x%lx", (unsigned long)h.created[i],
                    (unsigned long)rv);
    }
    size_t now = count_objects(NULL, 0);
    FUZZ_ASSERT(now == n_initial, "the token has %zu objects after the input, %zu before", now,
                n_initial);
    return 0;
}
