/* SPDX-License-Identifier: Apache-2.0 */
/* C_Decrypt* (the TPM, private key) and C_Encrypt* (software, public key): dispatch to the
 * mechanism table (operation life: multipart.c). RSA works on whole blocks, so multi-part calls collect the input and
 * produce everything at C_*Final. A decryption result is kept until the caller has a buffer
 * large enough, so the length query and a retry cost one TPM command, not several. */
#include "p11.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static size_t block_size(const p11_op *op)
{
    return ((size_t)EVP_PKEY_get_bits(p11_op_pub(op)) + 7) / 8;
}

/* Runs the operation on `in` (once) and hands out the result per the two-call convention;
 * delivering it ends the operation (errors end it in p11_part_leave). */
static CK_RV crypt_final(p11_op **slot, bool decrypt, const unsigned char *in, size_t inlen,
                         CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    p11_op *op = *slot;
    if (!op->result) {
        if (!out) {
            *outlen = block_size(op); /* an upper bound, without touching the TPM */
            return CKR_OK;
        }
        size_t k = block_size(op), n = k;
        if (!(op->result = malloc(k ? k : 1)))
            return CKR_HOST_MEMORY;
        CK_RV rv = decrypt ? op->mech->decrypt(op, in, inlen, op->result, &n)
                           : op->mech->encrypt(op, in, inlen, op->result, &n);
        op->result_len = k; /* for cleansing */
        if (rv != CKR_OK)
            return rv;
        op->result_len = n;
    }
    bool done;
    CK_RV rv = p11_out_check(out, outlen, op->result_len, &done);
    if (rv != CKR_OK || !done)
        return rv;
    memcpy(out, op->result, op->result_len);
    *outlen = op->result_len;
    p11_part_end(slot);
    return CKR_OK;
}

static CK_RV one_shot(CK_SESSION_HANDLE h, bool decrypt, CK_BYTE_PTR in, CK_ULONG inlen,
                      CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    p11_op **slot;
    CK_RV rv = p11_part_begin(h, decrypt ? CKF_DECRYPT : CKF_ENCRYPT, P11_PART_SINGLE,
                              (in || !inlen) && outlen, &slot);
    if (rv != CKR_OK)
        return rv;
    return p11_part_leave(slot, P11_PART_SINGLE,
                          crypt_final(slot, decrypt, in, inlen, out, outlen));
}

static CK_RV update(CK_SESSION_HANDLE h, bool decrypt, CK_BYTE_PTR in, CK_ULONG inlen,
                    CK_ULONG_PTR outlen)
{
    p11_op **slot;
    CK_RV rv = p11_part_begin(h, decrypt ? CKF_DECRYPT : CKF_ENCRYPT, P11_PART_UPDATE,
                              (in || !inlen) && outlen, &slot);
    if (rv != CKR_OK)
        return rv;
    (*slot)->updated = true;
    rv = p11_op_append(*slot, in, inlen);
    if (rv == CKR_OK)
        *outlen = 0; /* everything comes out at the end */
    return p11_part_leave(slot, P11_PART_UPDATE, rv);
}

static CK_RV final(CK_SESSION_HANDLE h, bool decrypt, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    p11_op **slot;
    CK_RV rv = p11_part_begin(h, decrypt ? CKF_DECRYPT : CKF_ENCRYPT, P11_PART_FINAL,
                              outlen != NULL, &slot);
    if (rv != CKR_OK)
        return rv;
    p11_op *op = *slot;
    return p11_part_leave(slot, P11_PART_FINAL,
                          crypt_final(slot, decrypt, op->buf, op->len, out, outlen));
}

CK_RV C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    return p11_part_init(hSession, CKF_DECRYPT, pMechanism, hKey, CKO_PRIVATE_KEY, CKA_DECRYPT);
}

CK_RV C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData, CK_ULONG ulEncryptedDataLen,
                CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    return one_shot(hSession, true, pEncryptedData, ulEncryptedDataLen, pData, pulDataLen);
}

CK_RV C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                      CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
    (void)pPart;
    return update(hSession, true, pEncryptedPart, ulEncryptedPartLen, pulPartLen);
}

CK_RV C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart, CK_ULONG_PTR pulLastPartLen)
{
    return final(hSession, true, pLastPart, pulLastPartLen);
}

CK_RV C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    return p11_part_init(hSession, CKF_ENCRYPT, pMechanism, hKey, CKO_PUBLIC_KEY, CKA_ENCRYPT);
}

CK_RV C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
    return one_shot(hSession, false, pData, ulDataLen, pEncryptedData, pulEncryptedDataLen);
}

CK_RV C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                      CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    (void)pEncryptedPart;
    return update(hSession, false, pPart, ulPartLen, pulEncryptedPartLen);
}

CK_RV C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
                     CK_ULONG_PTR pulLastEncryptedPartLen)
{
    return final(hSession, false, pLastEncryptedPart, pulLastEncryptedPartLen);
}
