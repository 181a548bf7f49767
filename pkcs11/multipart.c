/* SPDX-License-Identifier: Apache-2.0 */
/* What C_Sign*, C_Verify*, C_Digest*, C_Encrypt* and C_Decrypt* share: the life of a single-
 * or multi-part operation in a session (PKCS#11 2.40 section 5: any return but CKR_OK and
 * CKR_BUFFER_TOO_SMALL, or a call that delivers the result, ends the operation; a length
 * query leaves it active; a single-part call after an update, and an update or final call
 * after a single-part call, are refused and end it), and the input it collects: the running
 * hash of hashing mechanisms, else the data itself. */
#include "p11.h"

#include <openssl/crypto.h>

CK_RV p11_part_init(CK_SESSION_HANDLE h, CK_FLAGS purpose, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key,
                    CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE usage)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(h, &s);
    if (rv != CKR_OK)
        return rv;
    p11_op **slot = p11_session_op(s, purpose);
    return p11_leave(slot ? p11_op_init(slot, m, key, purpose, cls, usage) : CKR_GENERAL_ERROR);
}

void p11_part_end(p11_op **slot)
{
    p11_op_free(*slot);
    *slot = NULL;
}

CK_RV p11_part_begin(CK_SESSION_HANDLE h, CK_FLAGS purpose, p11_part_call call, bool args_ok,
                     p11_op ***slot)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(h, &s);
    if (rv != CKR_OK)
        return rv;
    p11_op **op = p11_session_op(s, purpose);
    if (!op || !*op)
        return p11_leave(CKR_OPERATION_NOT_INITIALIZED);
    if (!args_ok) {
        p11_part_end(op);
        return p11_leave(CKR_ARGUMENTS_BAD);
    }
    if ((call == P11_PART_SINGLE && (*op)->updated) || (call != P11_PART_SINGLE && (*op)->single)) {
        /* single-part and multi-part do not mix: the operation ends */
        p11_part_end(op);
        return p11_leave(CKR_OPERATION_ACTIVE);
    }
    *slot = op;
    return CKR_OK;
}

CK_RV p11_part_leave(p11_op **slot, p11_part_call call, CK_RV rv)
{
    if (*slot && rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
        p11_part_end(slot);
    if (*slot && call == P11_PART_SINGLE)
        (*slot)->single = true;
    return p11_leave(rv);
}

CK_RV p11_part_update(CK_SESSION_HANDLE h, CK_FLAGS purpose, const unsigned char *part,
                      CK_ULONG len)
{
    p11_op **slot;
    CK_RV rv = p11_part_begin(h, purpose, P11_PART_UPDATE, part || !len, &slot);
    if (rv != CKR_OK)
        return rv;
    p11_op *op = *slot;
    op->updated = true;
    if (op->md)
        rv = EVP_DigestUpdate(op->md, part, len) == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
    else
        rv = p11_op_append(op, part, len);
    return p11_part_leave(slot, P11_PART_UPDATE, rv);
}

CK_RV p11_part_input(p11_op *op, const unsigned char *more, size_t more_len,
                     unsigned char dig[EVP_MAX_MD_SIZE], const unsigned char **in, size_t *inlen)
{
    if (op->md) {
        /* finished on a copy of the state, so that a length query consumes nothing */
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        unsigned int n = 0;
        bool ok = c && EVP_MD_CTX_copy_ex(c, op->md) == 1 &&
                  EVP_DigestUpdate(c, more, more_len) == 1 && EVP_DigestFinal_ex(c, dig, &n) == 1;
        EVP_MD_CTX_free(c);
        if (!ok)
            return CKR_FUNCTION_FAILED;
        *in = dig;
        *inlen = n;
        return CKR_OK;
    }
    if (more_len) {
        CK_RV rv = p11_op_append(op, more, more_len);
        if (rv != CKR_OK)
            return rv;
    }
    *in = op->buf ? op->buf : dig;
    *inlen = op->len;
    return CKR_OK;
}
