/* SPDX-License-Identifier: Apache-2.0 */
/* A PKCS#11 consumer, the way an application drives a module: dlopen, C_GetFunctionList,
 * C_Initialize, a session on the token, C_Login if a PIN is given, find the key by label,
 * C_SignInit + C_Sign. libc + libdl only (devid-coldstart links it).
 *
 * p11-kit's pkcs11.h defines macros named value, count, params, ...: include this header last.
 */
#ifndef DEVID_BENCH_P11_H
#define DEVID_BENCH_P11_H

#include <stdbool.h>
#include <stddef.h>

#include <p11-kit/pkcs11.h>

typedef struct {
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    bool initialized;
    CK_SESSION_HANDLE session;
    bool has_session;
    CK_OBJECT_HANDLE key;
} p11_mod;

/* Each returns 0, or -1 with a message in err. */
int p11_load(p11_mod *m, const char *path, char *err, size_t errlen);
int p11_initialize(p11_mod *m, char *err, size_t errlen);
/* Opens a session on the token labelled `token` (NULL: the first slot with a token). */
int p11_open(p11_mod *m, const char *token, char *err, size_t errlen);
int p11_login(p11_mod *m, const char *pin, char *err, size_t errlen); /* pin NULL: no-op */
int p11_find_key(p11_mod *m, const char *label, char *err, size_t errlen);
/* CKM_ECDSA over a digest; *sig_len in: capacity, out: length. */
int p11_sign(p11_mod *m, const unsigned char *dgst, size_t dgst_len, unsigned char *sig,
             size_t *sig_len, char *err, size_t errlen);
/* The public key object's CKA_EC_POINT, unwrapped from its DER OCTET STRING. */
int p11_ec_point(p11_mod *m, const char *label, unsigned char *out, size_t *len, char *err,
                 size_t errlen);
void p11_close(p11_mod *m); /* C_CloseSession, C_Finalize, dlclose */

#endif
