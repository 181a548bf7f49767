/* SPDX-License-Identifier: Apache-2.0 */
/* The p11-api test: the life of an operation, exactly as PKCS#11 2.40 section 5 says, for
 * digest, sign, verify, encrypt and decrypt, single- and multi-part. One table of call
 * sequences, each run on every operation: any return but CKR_OK and CKR_BUFFER_TOO_SMALL ends
 * the operation; a length query or a buffer too small leaves it active; a single-part call
 * after an update, or an update/final call after a single-part call, is refused with
 * CKR_OPERATION_ACTIVE and ends it; *Init while active is refused and leaves it running.
 * Whether an operation is still active is asked with its *Init (CKR_OPERATION_ACTIVE).
 * C_SessionCancel (3.0) ends the operations it names, and only those. */
#include "p11api.h"

typedef enum {
    INIT,
    SINGLE_QUERY,
    SINGLE_SMALL,
    SINGLE_FULL,
    SINGLE_BADARGS,
    SINGLE_BADDATA,
    UPDATE,
    UPDATE_BADARGS,
    FINAL_QUERY,
    FINAL_SMALL,
    FINAL_FULL,
    FINAL_BADARGS,
    FINAL_BADDATA,
} step;
static const char *const step_names[] = {
    "Init",
    "single(query)",
    "single(small)",
    "single",
    "single(bad args)",
    "single(bad data)",
    "Update",
    "Update(bad args)",
    "Final(query)",
    "Final(small)",
    "Final",
    "Final(bad args)",
    "Final(bad data)",
};

enum { OP_DIGEST, OP_SIGN, OP_VERIFY, OP_ENCRYPT, OP_DECRYPT, N_OPS };
static const char *const op_names[] = { "digest", "sign", "verify", "encrypt", "decrypt" };
/* what an operation has: an output (length queries), data a single-part call can refuse,
 * a final call that can refuse its input */
static const bool has_output[] = { true, true, false, true, true };
static const bool has_bad_single[] = { false, false, true, true, true };
static const bool has_bad_final[] = { false, false, true, false, false };
static const CK_RV bad_rv[] = { 0, 0, CKR_SIGNATURE_INVALID, CKR_DATA_LEN_RANGE,
                                CKR_ENCRYPTED_DATA_LEN_RANGE };

static CK_OBJECT_HANDLE priv, pub;
static unsigned char data[100], sig[256], ct[256];
static CK_ULONG siglen, ctlen;

static CK_RV init(CK_SESSION_HANDLE s, int op)
{
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 }, sign = { CKM_SHA256_RSA_PKCS, NULL, 0 },
                 rsa = { CKM_RSA_PKCS, NULL, 0 };
    switch (op) {
    case OP_DIGEST:
        return f->C_DigestInit(s, &sha);
    case OP_SIGN:
        return f->C_SignInit(s, &sign, priv);
    case OP_VERIFY:
        return f->C_VerifyInit(s, &sign, pub);
    case OP_ENCRYPT:
        return f->C_EncryptInit(s, &rsa, pub);
    default:
        return f->C_DecryptInit(s, &rsa, priv);
    }
}

/* The good input of each operation: what it is single-part, and fed to one update. */
static const unsigned char *input(int op, CK_ULONG *len)
{
    *len = op == OP_DECRYPT ? ctlen : op == OP_ENCRYPT ? 16 : sizeof(data);
    return op == OP_DECRYPT ? ct : data;
}

static CK_RV run(CK_SESSION_HANDLE s, int op, step st)
{
    unsigned char out[512], bad[512];
    CK_ULONG inlen, outlen = st == SINGLE_SMALL || st == FINAL_SMALL ? 4 : sizeof(out);
    const unsigned char *in = input(op, &inlen);
    CK_BYTE *o = st == SINGLE_QUERY || st == FINAL_QUERY ? NULL : out;
    CK_ULONG *ol = st == SINGLE_BADARGS || st == FINAL_BADARGS ? NULL : &outlen;
    memset(bad, 0x7f, sizeof(bad));
    if (st == SINGLE_BADDATA) { /* a wrong signature, too much to encrypt, a ciphertext
                                   shorter than the modulus (swtpm answers a ciphertext with
                                   bad padding with TPM_RC_FAILURE, not a padding error) */
        in = op == OP_ENCRYPT ? bad : op == OP_DECRYPT ? bad : in;
        inlen = op == OP_ENCRYPT ? 300 : op == OP_DECRYPT ? 100 : inlen;
    }
    const unsigned char *sg = st == SINGLE_BADDATA || st == FINAL_BADDATA ? bad : sig;
    CK_ULONG sl = st == SINGLE_BADARGS || st == FINAL_BADARGS ? 5 : siglen;
    if (sl == 5)
        sg = NULL; /* NULL with a length: bad arguments for verify */
    switch (st) {
    case INIT:
        return init(s, op);
    case SINGLE_QUERY:
    case SINGLE_SMALL:
    case SINGLE_FULL:
    case SINGLE_BADARGS:
    case SINGLE_BADDATA:
        switch (op) {
        case OP_DIGEST:
            return f->C_Digest(s, (CK_BYTE *)in, inlen, o, ol);
        case OP_SIGN:
            return f->C_Sign(s, (CK_BYTE *)in, inlen, o, ol);
        case OP_VERIFY:
            return f->C_Verify(s, (CK_BYTE *)in, inlen, (CK_BYTE *)sg, sl);
        case OP_ENCRYPT:
            return f->C_Encrypt(s, (CK_BYTE *)in, inlen, o, ol);
        default:
            return f->C_Decrypt(s, (CK_BYTE *)in, inlen, o, ol);
        }
    case UPDATE:
    case UPDATE_BADARGS: {
        CK_BYTE *p = st == UPDATE_BADARGS ? NULL : (CK_BYTE *)in;
        CK_ULONG n = st == UPDATE_BADARGS ? 5 : inlen, ul = sizeof(out);
        switch (op) {
        case OP_DIGEST:
            return f->C_DigestUpdate(s, p, n);
        case OP_SIGN:
            return f->C_SignUpdate(s, p, n);
        case OP_VERIFY:
            return f->C_VerifyUpdate(s, p, n);
        case OP_ENCRYPT:
            return f->C_EncryptUpdate(s, p, n, out, &ul);
        default:
            return f->C_DecryptUpdate(s, p, n, out, &ul);
        }
    }
    default: /* the final calls */
        switch (op) {
        case OP_DIGEST:
            return f->C_DigestFinal(s, o, ol);
        case OP_SIGN:
            return f->C_SignFinal(s, o, ol);
        case OP_VERIFY:
            return f->C_VerifyFinal(s, (CK_BYTE *)sg, sl);
        case OP_ENCRYPT:
            return f->C_EncryptFinal(s, o, ol);
        default:
            return f->C_DecryptFinal(s, o, ol);
        }
    }
}

#define BAD (~(CK_RV)0) /* the operation's own refusal of bad data (bad_rv) */
static const struct {
    const char *what;
    struct {
        step st;
        CK_RV rv;
    } steps[4];
    size_t n;
    bool active; /* still active afterwards */
} rows[] = {
    { "length query", { { SINGLE_QUERY, CKR_OK } }, 1, true },
    { "query, small, full",
      { { SINGLE_QUERY, CKR_OK }, { SINGLE_SMALL, CKR_BUFFER_TOO_SMALL }, { SINGLE_FULL, CKR_OK } },
      3,
      false },
    { "buffer too small", { { SINGLE_SMALL, CKR_BUFFER_TOO_SMALL } }, 1, true },
    { "single part", { { SINGLE_FULL, CKR_OK } }, 1, false },
    { "single, bad arguments", { { SINGLE_BADARGS, CKR_ARGUMENTS_BAD } }, 1, false },
    { "single, bad data", { { SINGLE_BADDATA, BAD } }, 1, false },
    { "update", { { UPDATE, CKR_OK } }, 1, true },
    { "single after update",
      { { UPDATE, CKR_OK }, { SINGLE_FULL, CKR_OPERATION_ACTIVE } },
      2,
      false },
    { "multi-part with queries",
      { { UPDATE, CKR_OK },
        { FINAL_QUERY, CKR_OK },
        { FINAL_SMALL, CKR_BUFFER_TOO_SMALL },
        { FINAL_FULL, CKR_OK } },
      4,
      false },
    { "multi-part", { { UPDATE, CKR_OK }, { FINAL_FULL, CKR_OK } }, 2, false },
    { "final too small", { { UPDATE, CKR_OK }, { FINAL_SMALL, CKR_BUFFER_TOO_SMALL } }, 2, true },
    { "update, bad arguments", { { UPDATE_BADARGS, CKR_ARGUMENTS_BAD } }, 1, false },
    { "final, bad arguments",
      { { UPDATE, CKR_OK }, { FINAL_BADARGS, CKR_ARGUMENTS_BAD } },
      2,
      false },
    { "final, bad data", { { UPDATE, CKR_OK }, { FINAL_BADDATA, BAD } }, 2, false },
    { "update after a query",
      { { SINGLE_QUERY, CKR_OK }, { UPDATE, CKR_OPERATION_ACTIVE } },
      2,
      false },
    { "final after a query",
      { { SINGLE_QUERY, CKR_OK }, { FINAL_FULL, CKR_OPERATION_ACTIVE } },
      2,
      false },
    { "update after too small",
      { { SINGLE_SMALL, CKR_BUFFER_TOO_SMALL }, { UPDATE, CKR_OPERATION_ACTIVE } },
      2,
      false },
    { "init while active",
      { { UPDATE, CKR_OK }, { INIT, CKR_OPERATION_ACTIVE }, { FINAL_FULL, CKR_OK } },
      3,
      false },
    { "init while active (single)",
      { { SINGLE_QUERY, CKR_OK }, { INIT, CKR_OPERATION_ACTIVE }, { SINGLE_FULL, CKR_OK } },
      3,
      false },
};

static bool applies(int op, size_t r)
{
    for (size_t i = 0; i < rows[r].n; i++) {
        step st = rows[r].steps[i].st;
        if (!has_output[op] &&
            (st == SINGLE_QUERY || st == SINGLE_SMALL || st == FINAL_QUERY || st == FINAL_SMALL))
            return false;
        if ((st == SINGLE_BADDATA && !has_bad_single[op]) ||
            (st == FINAL_BADDATA && !has_bad_final[op]))
            return false;
    }
    return true;
}

/* Every operation and a search started; C_SessionCancel ends those its flags name. */
static void cancel_some(CK_SESSION_HANDLE s, CK_FLAGS which)
{
    static const CK_FLAGS flag[N_OPS] = { CKF_DIGEST, CKF_SIGN, CKF_VERIFY, CKF_ENCRYPT,
                                          CKF_DECRYPT };
    for (int op = 0; op < N_OPS; op++)
        CHECK_RV(init(s, op), CKR_OK);
    CHECK_RV(f->C_FindObjectsInit(s, NULL, 0), CKR_OK);
    CHECK_RV(f3->C_SessionCancel(s, which), CKR_OK);
    for (int op = 0; op < N_OPS; op++) {
        CK_RV probe = init(s, op); /* starts it again if it was ended */
        CHECK(probe == ((which & flag[op]) ? CKR_OK : CKR_OPERATION_ACTIVE),
              "C_SessionCancel(0x%lx): %s Init says 0x%lx", (unsigned long)which, op_names[op],
              (unsigned long)probe);
    }
    CK_OBJECT_HANDLE h;
    CK_ULONG n = 0;
    CHECK_RV(f->C_FindObjects(s, &h, 1, &n),
             (which & CKF_FIND_OBJECTS) ? CKR_OPERATION_NOT_INITIALIZED : CKR_OK);
    CHECK_RV(f3->C_SessionCancel(s, CKF_DIGEST | CKF_SIGN | CKF_VERIFY | CKF_ENCRYPT | CKF_DECRYPT |
                                        CKF_FIND_OBJECTS),
             CKR_OK);
    for (int op = 0; op < N_OPS; op++) {
        CHECK_RV(init(s, op), CKR_OK);
        run(s, op, SINGLE_BADARGS); /* and ended */
    }
}

static void session_cancel(CK_SESSION_HANDLE s)
{
    CHECK(f3 != NULL, "no 3.0 function list");
    if (!f3)
        return;
    cancel_some(s, CKF_SIGN | CKF_DIGEST | CKF_FIND_OBJECTS);
    cancel_some(s, CKF_VERIFY | CKF_ENCRYPT | CKF_DECRYPT);
    cancel_some(s, 0);
}

void operation_states(CK_SESSION_HANDLE s)
{
    /* an RSA key pair that signs and decrypts, and inputs that work with it */
    CK_BBOOL yes = CK_TRUE;
    CK_ULONG bits = 2048;
    CK_ATTRIBUTE pt[] = { { CKA_MODULUS_BITS, &bits, sizeof(bits) },
                          { CKA_LABEL, (void *)"opstate", 7 } };
    CK_ATTRIBUTE kt[] = { { CKA_SIGN, &yes, 1 }, { CKA_DECRYPT, &yes, 1 } };
    CK_MECHANISM gen = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CHECK_RV(f->C_GenerateKeyPair(s, &gen, pt, 2, kt, 2, &pub, &priv), CKR_OK);
    memset(data, 0x42, sizeof(data));
    siglen = sizeof(sig);
    ctlen = sizeof(ct);
    CHECK_RV(init(s, OP_SIGN), CKR_OK);
    CHECK_RV(f->C_Sign(s, data, sizeof(data), sig, &siglen), CKR_OK);
    CHECK_RV(init(s, OP_ENCRYPT), CKR_OK);
    CHECK_RV(f->C_Encrypt(s, data, 16, ct, &ctlen), CKR_OK);

    for (int op = 0; op < N_OPS; op++)
        for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
            if (!applies(op, r))
                continue;
            CHECK_RV(init(s, op), CKR_OK);
            for (size_t i = 0; i < rows[r].n; i++) {
                CK_RV want = rows[r].steps[i].rv == BAD ? bad_rv[op] : rows[r].steps[i].rv;
                CK_RV got = run(s, op, rows[r].steps[i].st);
                CHECK(got == want, "%s, '%s', step %zu %s: 0x%lx, expected 0x%lx", op_names[op],
                      rows[r].what, i + 1, step_names[rows[r].steps[i].st], (unsigned long)got,
                      (unsigned long)want);
            }
            CK_RV probe = init(s, op);
            CHECK(probe == (rows[r].active ? CKR_OPERATION_ACTIVE : CKR_OK),
                  "%s, '%s': the operation is %s afterwards (Init: 0x%lx)", op_names[op],
                  rows[r].what, probe == CKR_OPERATION_ACTIVE ? "active" : "over",
                  (unsigned long)probe);
            /* end whatever runs now: bad arguments end any operation */
            run(s, op, SINGLE_BADARGS);
            CHECK(init(s, op) == CKR_OK, "%s: an operation survived bad arguments", op_names[op]);
            run(s, op, SINGLE_BADARGS);
        }
    session_cancel(s);
    CHECK_RV(f->C_DestroyObject(s, priv), CKR_OK);
}
