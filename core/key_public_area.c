/* SPDX-License-Identifier: Apache-2.0 */
/* A key's public area as the TPM marshals it (attest.h): what a verifier hashes into the
 * key's name and reads the attributes from. */
#include "attest.h"
#include "key_internal.h"

#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_mu.h>

devid_rc devid_key_public_area(const devid_key *key, unsigned char **out, size_t *out_len)
{
    if (!key || !out || !out_len)
        return devid_fail(DEVID_ERR_ARG, "devid_key_public_area: NULL argument");
    *out = NULL;
    *out_len = 0;
    unsigned char buf[sizeof(TPMT_PUBLIC)];
    size_t off = 0;
    if (Tss2_MU_TPMT_PUBLIC_Marshal(&key->pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        return devid_fail(DEVID_ERR_INTERNAL, "marshalling the public area of 0x%08x", key->handle);
    *out = malloc(off);
    if (!*out)
        return devid_fail(DEVID_ERR_MEMORY, "out of memory");
    memcpy(*out, buf, off);
    *out_len = off;
    return DEVID_OK;
}
