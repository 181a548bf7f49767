/* devid_key internals shared by key.c (objects) and sign.c (signatures). Core-internal. */
#ifndef DEVID_KEY_INTERNAL_H
#define DEVID_KEY_INTERNAL_H

#include "key.h"

#include <stdbool.h>
#include <tss2/tss2_esys.h>

struct devid_key {
    uint32_t handle;        /* persistent handle */
    TPMT_PUBLIC pub;        /* public area as read from the TPM */
    EVP_PKEY *pkey;         /* its OpenSSL form */
    devid_key_type type;
    unsigned flags;
    int bits;
    size_t size;            /* EC: order length; RSA: modulus length */
    TPM2B_AUTH auth;        /* cleansed on free */
    ESYS_TR tr;             /* resolved object, valid for `generation` */
    uint64_t generation;
};

/* With the TPM lock held: makes key->tr valid for the current connection and sets its auth. */
devid_rc devid_key_bind(ESYS_CONTEXT *ctx, devid_key *key);

#endif
