/* SPDX-License-Identifier: Apache-2.0 */
#include "nv.h"
#include "hierarchy.h"
#include "log.h"
#include "session.h"
#include "tpm.h"

#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_mu.h>

static devid_rc read_chunks(ESYS_CONTEXT *ctx, ESYS_TR auth, ESYS_TR nv, uint16_t size,
                            uint16_t chunk, unsigned char *buf)
{
    for (uint16_t off = 0; off < size;) {
        uint16_t n = (uint16_t)(size - off) < chunk ? (uint16_t)(size - off) : chunk;
        TPM2B_MAX_NV_BUFFER *data = NULL;
        ESYS_TR session = ESYS_TR_PASSWORD;
        devid_cmd_shape shape = { 0 };
        if (auth == ESYS_TR_RH_OWNER) {
            devid_rc hrc = devid_hierarchy_session(ctx, auth, shape, &session);
            if (hrc != DEVID_OK)
                return hrc;
        }
        TSS2_RC rc = DEVID_ESYS_RAW(Esys_NV_Read, ctx, auth, nv, session, ESYS_TR_NONE,
                                    ESYS_TR_NONE, n, off, &data);
        devid_rc drc = devid_hierarchy_check(ctx, rc, auth, "TPM2_NV_Read");
        if (drc != DEVID_OK)
            return drc;
        if (data->size != n) {
            Esys_Free(data);
            return devid_fail(DEVID_ERR_TPM, "TPM2_NV_Read returned %u bytes, asked %u", data->size,
                              n);
        }
        memcpy(buf + off, data->buffer, n);
        Esys_Free(data);
        off = (uint16_t)(off + n);
    }
    return DEVID_OK;
}

/* The index's public area as ESYS read it when it made the ESYS_TR (Esys_TR_FromTPMPublic
 * sends TPM2_NV_ReadPublic): asking the TPM again would cost one more command per read. ESYS
 * keeps it in the object's serialized metadata (the stable format Esys_TR_Deserialize reads:
 * handle, name, resource type, then for an NV index its TPM2B_NV_PUBLIC). False when that is
 * not what the buffer holds, or the index was not written yet when ESYS looked (another
 * process may have written it since): the caller asks the TPM then. */
static bool nv_public_from_esys(ESYS_CONTEXT *ctx, ESYS_TR nv, uint32_t index, TPMS_NV_PUBLIC *out)
{
    uint8_t *buf = NULL;
    size_t len = 0, off = 0;
    if (Esys_TR_Serialize(ctx, nv, &buf, &len) != TSS2_RC_SUCCESS)
        return false;
    TPM2_HANDLE handle = 0;
    TPM2B_NAME name = { 0 };
    uint32_t type = 0;
    TPM2B_NV_PUBLIC pub = { 0 }; /* (a sized structure unmarshals into a zeroed one only) */
    bool ok = Tss2_MU_TPM2_HANDLE_Unmarshal(buf, len, &off, &handle) == TSS2_RC_SUCCESS &&
              Tss2_MU_TPM2B_NAME_Unmarshal(buf, len, &off, &name) == TSS2_RC_SUCCESS &&
              Tss2_MU_UINT32_Unmarshal(buf, len, &off, &type) == TSS2_RC_SUCCESS &&
              type == 2 /* IESYSC_NV_RSRC */ &&
              Tss2_MU_TPM2B_NV_PUBLIC_Unmarshal(buf, len, &off, &pub) == TSS2_RC_SUCCESS &&
              off == len && handle == index && pub.nvPublic.nvIndex == index &&
              (pub.nvPublic.attributes & TPMA_NV_WRITTEN);
    Esys_Free(buf);
    if (ok)
        *out = pub.nvPublic;
    return ok;
}

static devid_rc nv_read_locked(ESYS_CONTEXT *ctx, uint32_t index, unsigned char **data, size_t *len)
{
    ESYS_TR nv;
    devid_rc rc = devid_tpm_resolve(ctx, index, &nv);
    if (rc != DEVID_OK)
        return rc == DEVID_ERR_NOT_FOUND || rc == DEVID_ERR_TPM
                   ? devid_fail(DEVID_ERR_NOT_FOUND, "NV index 0x%08x is not defined", index)
                   : rc;
    TPMS_NV_PUBLIC known;
    uint16_t size;
    TPMA_NV attrs;
    if (nv_public_from_esys(ctx, nv, index, &known)) {
        size = known.dataSize;
        attrs = known.attributes;
    } else {
        TPM2B_NV_PUBLIC *pub = NULL;
        rc = DEVID_ESYS("TPM2_NV_ReadPublic", Esys_NV_ReadPublic, ctx, nv, ESYS_TR_NONE,
                        ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
        if (rc != DEVID_OK) {
            if (devid_tpm_alive(ctx))
                devid_tpm_release(ctx, nv);
            return rc;
        }
        size = pub->nvPublic.dataSize;
        attrs = pub->nvPublic.attributes;
        Esys_Free(pub);
    }

    uint16_t chunk = 0;
    unsigned char *buf = NULL;
    if (!(attrs & TPMA_NV_WRITTEN))
        rc = devid_fail(DEVID_ERR_NOT_FOUND, "NV index 0x%08x was never written", index);
    else if (size == 0 || size > DEVID_NV_MAX_SIZE)
        rc = devid_fail(DEVID_ERR_FORMAT, "NV index 0x%08x has an implausible size %u", index,
                        size);
    else if ((rc = devid_tpm_nv_buffer_max(ctx, &chunk)) == DEVID_OK && !(buf = malloc(size)))
        rc = devid_fail(DEVID_ERR_MEMORY, "NV buffer");

    if (rc == DEVID_OK) {
        /* Try the index's own (empty) auth, then the owner's. When a wrong guess would count
         * against the dictionary-attack lockout (index without NO_DA), ask the owner first. */
        ESYS_TR order[2] = { ESYS_TR_NONE, ESYS_TR_NONE };
        bool own = attrs & TPMA_NV_AUTHREAD, owner = attrs & TPMA_NV_OWNERREAD;
        bool owner_first = owner && !(attrs & TPMA_NV_NO_DA);
        int n = 0;
        if (owner_first)
            order[n++] = ESYS_TR_RH_OWNER;
        if (own)
            order[n++] = nv;
        if (owner && !owner_first)
            order[n++] = ESYS_TR_RH_OWNER;
        rc = DEVID_ERR_AUTH;
        for (int i = 0; i < n; i++) {
            rc = read_chunks(ctx, order[i], nv, size, chunk, buf);
            if (rc != DEVID_ERR_AUTH && rc != DEVID_ERR_KEY_USAGE && rc != DEVID_ERR_TPM)
                break;
        }
        if (n == 0)
            rc = devid_fail(DEVID_ERR_AUTH,
                            "NV index 0x%08x is readable neither with its own "
                            "auth nor by the owner",
                            index);
    }
    if (devid_tpm_alive(ctx))
        devid_tpm_release(ctx, nv);
    if (rc != DEVID_OK) {
        free(buf);
        return rc;
    }
    *data = buf;
    *len = size;
    return DEVID_OK;
}

typedef struct nv_read_req {
    uint32_t index;
    unsigned char **data;
    size_t *len;
} nv_read_req;

static devid_rc nv_read_op(ESYS_CONTEXT *ctx, void *arg)
{
    nv_read_req *req = arg;
    return nv_read_locked(ctx, req->index, req->data, req->len);
}

devid_rc devid__nv_read(uint32_t index, unsigned char **data, size_t *len)
{
    if ((index >> 24) != TPM2_HT_NV_INDEX)
        return devid_fail(DEVID_ERR_ARG, "0x%08x is not an NV index", index);
    nv_read_req req = { .index = index, .data = data, .len = len };
    return devid_tpm_run(nv_read_op, &req);
}
