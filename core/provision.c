/* SPDX-License-Identifier: Apache-2.0 */
#include "provision.h"
#include "cert.h"
#include "devid_templates.h"
#include "key_internal.h"
#include "keygen.h"
#include "log.h"
#include "nv.h"
#include "srk.h"
#include "store.h"
#include "store_internal.h"
#include "hierarchy.h"

#include <stdio.h>
#include <stdlib.h>
#include "tpm.h"

#include <string.h>

static devid_rc handle_free(ESYS_CONTEXT *ctx, uint32_t handle)
{
    ESYS_TR tr;
    devid_rc rc = devid_tpm_resolve(ctx, handle, &tr);
    if (rc == DEVID_OK) {
        devid_tpm_release(ctx, tr);
        return devid_fail(DEVID_ERR_PROHIBITED,
                          "handle 0x%08x is in use: devid never "
                          "overwrites an occupied handle",
                          handle);
    }
    if (rc == DEVID_ERR_NOT_FOUND || rc == DEVID_ERR_TPM) {
        devid_clear_error();
        return DEVID_OK;
    }
    return rc;
}

/* TPM2_EvictControl under the owner's authorisation (its auth value, if any, in a salted
 * session): makes obj persistent at handle, or removes the persistent obj at handle. */
static devid_rc owner_evict_control_locked(ESYS_CONTEXT *ctx, ESYS_TR obj, uint32_t handle,
                                           ESYS_TR *out, const char *what)
{
    ESYS_TR session = ESYS_TR_PASSWORD;
    devid_cmd_shape shape = { 0 }; /* (the persistent handle is no sized parameter) */
    devid_rc rc = devid_hierarchy_session(ctx, ESYS_TR_RH_OWNER, shape, &session);
    if (rc != DEVID_OK)
        return rc;
    return devid_hierarchy_check(ctx,
                                 DEVID_ESYS_RAW(Esys_EvictControl, ctx, ESYS_TR_RH_OWNER, obj,
                                                session, ESYS_TR_NONE, ESYS_TR_NONE, handle, out),
                                 ESYS_TR_RH_OWNER, what);
}

static devid_rc make_persistent(ESYS_CONTEXT *ctx, ESYS_TR obj, uint32_t handle)
{
    ESYS_TR persistent = ESYS_TR_NONE;
    devid_rc rc = owner_evict_control_locked(ctx, obj, handle, &persistent,
                                             "making the key persistent (TPM2_EvictControl)");
    if (rc == DEVID_OK)
        Esys_TR_Close(ctx, &persistent); /* from EvictControl itself, not resolved */
    devid_tpm_handles_changed_locked(handle);
    if (devid_tpm_alive(ctx))
        DEVID_ESYS_RAW(Esys_FlushContext, ctx, obj);
    return rc;
}

static devid_rc create_endorsement_primary(ESYS_CONTEXT *ctx, const TPM2B_PUBLIC *tmpl,
                                           ESYS_TR *obj)
{
    TPM2B_SENSITIVE_CREATE sensitive = { 0 };
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };
    TSS2_RC trc;
    ESYS_TR session = ESYS_TR_PASSWORD;
    devid_cmd_shape shape = { .first_in_sized = true };
    devid_rc rc = devid_hierarchy_session(ctx, ESYS_TR_RH_ENDORSEMENT, shape, &session);
    if (rc != DEVID_OK)
        return rc;
    do {
        trc = DEVID_ESYS_RAW(Esys_CreatePrimary, ctx, ESYS_TR_RH_ENDORSEMENT, session, ESYS_TR_NONE,
                             ESYS_TR_NONE, &sensitive, tmpl, &outside, &pcrs, obj, NULL, NULL, NULL,
                             NULL);
    } while (DEVID_TPM_OBJECT_MEMORY(trc) && devid_keys_evict_one(ctx));
    return devid_hierarchy_check(ctx, trc, ESYS_TR_RH_ENDORSEMENT,
                                 "creating the key in the endorsement hierarchy");
}

devid_rc devid_provision_key(const devid_provision_spec *spec, devid_key **out)
{
    if ((spec->handle >> 24) != TPM2_HT_PERSISTENT)
        return devid_fail(DEVID_ERR_ARG, "0x%08x is not a persistent handle", spec->handle);
    devid_keygen kg = { .type = spec->type,
                        .curve_nid = spec->curve_nid,
                        .bits = spec->bits,
                        .sign = true,
                        .decrypt = spec->type == DEVID_KEY_RSA };
    TPM2B_PUBLIC tmpl;
    devid_rc rc = spec->tmpl == DEVID_TEMPLATE_PLAIN
                      ? devid_keygen_template(&kg, &tmpl)
                      : devid_factory_template(spec->tmpl, spec->type, spec->curve_nid, spec->bits,
                                               &tmpl);
    if (rc == DEVID_OK && spec->tmpl != DEVID_TEMPLATE_PLAIN &&
        spec->hierarchy != DEVID_HIER_ENDORSEMENT)
        rc = devid_fail(DEVID_ERR_ARG, "the TCG device identity keys are endorsement primaries");
    if (rc != DEVID_OK)
        return rc;

    ESYS_CONTEXT *ctx;
    rc = devid_tpm_lock(&ctx);
    if (rc != DEVID_OK)
        return rc;
    rc = handle_free(ctx, spec->handle);
    devid_tpm_unlock();
    if (rc != DEVID_OK)
        return rc;

    devid_tss2_key blob;
    if (spec->hierarchy == DEVID_HIER_OWNER) {
        TPM2B_SENSITIVE_CREATE sensitive = { 0 };
        rc = devid_tpm_create(&tmpl, &sensitive, &blob); /* takes the lock itself */
        if (rc != DEVID_OK)
            return rc;
    }
    rc = devid_tpm_lock(&ctx);
    if (rc != DEVID_OK)
        return rc;
    ESYS_TR obj = ESYS_TR_NONE;
    if (spec->hierarchy == DEVID_HIER_OWNER)
        rc = devid_tpm_load_blob(ctx, &blob, NULL, &obj);
    else
        rc = create_endorsement_primary(ctx, &tmpl, &obj);
    if (rc == DEVID_OK)
        rc = make_persistent(ctx, obj, spec->handle);
    devid_tpm_unlock();
    if (rc != DEVID_OK)
        return rc;
    devid_info("created a key at persistent handle 0x%08x", spec->handle);
    return devid_key_open_persistent(spec->handle, out);
}

devid_rc devid_provision_persist_store_key(const char *uid, uint32_t handle)
{
    devid_tss2_key blob;
    devid_store_attrs attrs;
    devid_rc rc = devid_store_get_attrs(uid, &attrs);
    /* a map key is opened with an empty auth value: one bound to the token would be
     * persisted unusable (the TPM refuses it: wrong auth value) */
    if (rc == DEVID_OK && attrs.token_bound)
        rc = devid_fail(DEVID_ERR_PROHIBITED,
                        "store key %s is bound to the token: it cannot become a DevID map key",
                        uid);
    if (rc == DEVID_OK)
        rc = store_read_key_blob(uid, &blob);
    if (rc != DEVID_OK)
        return rc;
    ESYS_CONTEXT *ctx;
    rc = devid_tpm_lock(&ctx);
    if (rc != DEVID_OK)
        return rc;
    ESYS_TR obj = ESYS_TR_NONE;
    rc = handle_free(ctx, handle);
    if (rc == DEVID_OK)
        rc = devid_tpm_load_blob(ctx, &blob, NULL, &obj);
    if (rc == DEVID_OK)
        rc = make_persistent(ctx, obj, handle);
    devid_tpm_unlock();
    return rc;
}

devid_rc devid_provision_remove_key(uint32_t handle)
{
    if ((handle >> 24) != TPM2_HT_PERSISTENT)
        return devid_fail(DEVID_ERR_ARG, "0x%08x is not a persistent handle", handle);
    ESYS_CONTEXT *ctx;
    devid_rc rc = devid_tpm_lock(&ctx);
    if (rc != DEVID_OK)
        return rc;
    ESYS_TR tr, none = ESYS_TR_NONE;
    rc = devid_tpm_resolve(ctx, handle, &tr);
    if (rc == DEVID_OK) {
        rc = owner_evict_control_locked(ctx, tr, handle, &none,
                                        "removing the persistent key (TPM2_EvictControl)");
        if (rc == DEVID_OK) {
            /* the ESYS object of the removed key must not outlive it: a new key at the same
             * handle would clash with it (tpm2-tss >= 4.1 removes it itself: meson.build) */
#ifndef DEVID_ESYS_EVICT_REMOVES_OBJECT
            Esys_TR_Close(ctx, &tr);
#endif
            devid_tpm_handles_changed_locked(handle);
        } else if (devid_tpm_alive(ctx))
            devid_tpm_release(ctx, tr);
    }
    devid_tpm_unlock();
    return rc;
}

/* TCG certificate index, as a platform writes it at the factory; or the owner's version. */
static TPM2B_NV_PUBLIC cert_index(uint32_t index, size_t len, bool platform)
{
    TPMA_NV attrs = TPMA_NV_OWNERREAD | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA;
    attrs |= platform
                 ? TPMA_NV_PPWRITE | TPMA_NV_PPREAD | TPMA_NV_WRITEDEFINE | TPMA_NV_PLATFORMCREATE
                 : TPMA_NV_OWNERWRITE;
    TPM2B_NV_PUBLIC pub = {
        .nvPublic = { .nvIndex = index,
                      .nameAlg = TPM2_ALG_SHA256,
                      .attributes = attrs,
                      .dataSize = (UINT16)len },
    };
    return pub;
}

static devid_rc undefine(ESYS_CONTEXT *ctx, ESYS_TR nv, uint32_t index)
{
    TPM2B_NV_PUBLIC *pub = NULL;
    devid_rc rc = DEVID_ESYS("TPM2_NV_ReadPublic", Esys_NV_ReadPublic, ctx, nv, ESYS_TR_NONE,
                             ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
    if (rc != DEVID_OK)
        return rc;
    ESYS_TR auth = (pub->nvPublic.attributes & TPMA_NV_PLATFORMCREATE) ? ESYS_TR_RH_PLATFORM
                                                                       : ESYS_TR_RH_OWNER;
    Esys_Free(pub);
    ESYS_TR session = ESYS_TR_PASSWORD;
    devid_cmd_shape shape = { 0 };
    if (auth == ESYS_TR_RH_OWNER)
        rc = devid_hierarchy_session(ctx, auth, shape, &session);
    if (rc == DEVID_OK)
        rc = devid_hierarchy_check(ctx,
                                   DEVID_ESYS_RAW(Esys_NV_UndefineSpace, ctx, auth, nv, session,
                                                  ESYS_TR_NONE, ESYS_TR_NONE),
                                   auth, "removing the old certificate index");
    if (rc == DEVID_OK) {
        Esys_TR_Close(ctx, &nv); /* harmless if ESAPI already dropped it with the index */
        devid_tpm_handles_changed_locked(index);
    } else if (devid_tpm_alive(ctx))
        devid_tpm_release(ctx, nv);
    return rc == DEVID_OK ? rc : devid_fail(rc, "NV 0x%08x: %s", index, devid_last_error());
}

static devid_rc define_and_write(ESYS_CONTEXT *ctx, uint32_t index, const unsigned char *der,
                                 size_t len)
{
    TPM2B_AUTH empty = { 0 };
    ESYS_TR nv = ESYS_TR_NONE, hierarchy = ESYS_TR_RH_PLATFORM;
    ESYS_TR owner_session = ESYS_TR_PASSWORD; /* the platform's auth is empty at a factory */
    TPM2B_NV_PUBLIC pub = cert_index(index, len, true);
    TSS2_RC trc = DEVID_ESYS_RAW(Esys_NV_DefineSpace, ctx, ESYS_TR_RH_PLATFORM, ESYS_TR_PASSWORD,
                                 ESYS_TR_NONE, ESYS_TR_NONE, &empty, &pub, &nv);
    if (trc != TSS2_RC_SUCCESS && (trc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER) {
        /* No platform authorisation (a deployed device): the owner defines it. */
        devid_debug("platform cannot define NV 0x%08x (0x%x); using the owner", index, trc);
        hierarchy = ESYS_TR_RH_OWNER;
        pub = cert_index(index, len, false);
        devid_cmd_shape shape = { .first_in_sized = true };
        devid_rc hrc = devid_hierarchy_session(ctx, hierarchy, shape, &owner_session);
        if (hrc != DEVID_OK)
            return hrc;
        trc = DEVID_ESYS_RAW(Esys_NV_DefineSpace, ctx, ESYS_TR_RH_OWNER, owner_session,
                             ESYS_TR_NONE, ESYS_TR_NONE, &empty, &pub, &nv);
    }
    devid_rc rc = devid_hierarchy_check(ctx, trc, hierarchy,
                                        "defining the certificate index (TPM2_NV_DefineSpace)");
    uint16_t chunk = 0;
    if (rc == DEVID_OK)
        rc = devid_tpm_nv_buffer_max(ctx, &chunk);
    for (size_t off = 0; rc == DEVID_OK && off < len;) {
        TPM2B_MAX_NV_BUFFER data = { .size = (UINT16)(len - off < chunk ? len - off : chunk) };
        memcpy(data.buffer, der + off, data.size);
        if (hierarchy == ESYS_TR_RH_OWNER) { /* (each command sets the value again) */
            devid_cmd_shape wshape = { .first_in_sized = true };
            rc = devid_hierarchy_session(ctx, hierarchy, wshape, &owner_session);
            if (rc != DEVID_OK)
                break;
        }
        rc = devid_hierarchy_check(ctx,
                                   DEVID_ESYS_RAW(Esys_NV_Write, ctx, hierarchy, nv, owner_session,
                                                  ESYS_TR_NONE, ESYS_TR_NONE, &data, (UINT16)off),
                                   hierarchy, "writing the certificate (TPM2_NV_Write)");
        off += data.size;
    }
    if (rc == DEVID_OK && hierarchy == ESYS_TR_RH_PLATFORM) {
        /* factory certificates are immutable until the platform redefines the index */
        rc = DEVID_ESYS("write-locking the certificate index", Esys_NV_WriteLock, ctx, hierarchy,
                        nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
    }
    if (nv != ESYS_TR_NONE && devid_tpm_alive(ctx))
        Esys_TR_Close(ctx, &nv); /* from DefineSpace itself, not resolved */
    return rc;
}

devid_rc devid_nv_write_cert(uint32_t index, const unsigned char *der, size_t len, bool replace)
{
    if ((index >> 24) != TPM2_HT_NV_INDEX || !der || len == 0 || len > UINT16_MAX)
        return devid_fail(DEVID_ERR_ARG, "bad NV index or certificate");
    if (!replace) {
        /* Only a certificate is protected from being overwritten. What an interrupted write
         * (TPM reset, power loss) leaves - an index defined but never written, or written
         * in part (the rest reads 0xFF) - holds none: finishing the job overwrites nothing. */
        unsigned char *cur = NULL;
        size_t curlen = 0;
        X509 *held = NULL;
        devid_rc rc = devid__nv_read(index, &cur, &curlen);
        if (rc == DEVID_OK && devid__cert_from_der(cur, curlen, &held) == DEVID_OK)
            rc = devid_fail(DEVID_ERR_PROHIBITED, "NV 0x%08x already holds a certificate", index);
        else if (rc == DEVID_OK || rc == DEVID_ERR_NOT_FOUND || rc == DEVID_ERR_FORMAT) {
            if (rc == DEVID_OK)
                devid_warn("NV 0x%08x holds no complete certificate (an interrupted write?): "
                           "writing it again",
                           index);
            rc = DEVID_OK;
            devid_clear_error();
        }
        X509_free(held);
        free(cur);
        if (rc != DEVID_OK)
            return rc; /* a certificate, or an index we cannot read: left alone */
    }
    ESYS_CONTEXT *ctx;
    devid_rc rc = devid_tpm_lock(&ctx);
    if (rc != DEVID_OK)
        return rc;
    ESYS_TR nv = ESYS_TR_NONE;
    rc = devid_tpm_resolve(ctx, index, &nv);
    if (rc == DEVID_ERR_NOT_FOUND || rc == DEVID_ERR_TPM) { /* not defined: define it */
        rc = DEVID_OK;
        devid_clear_error();
    } else if (rc == DEVID_OK) {
        rc = undefine(ctx, nv, index); /* gives nv back */
    }
    if (rc == DEVID_OK)
        rc = define_and_write(ctx, index, der, len);
    devid_tpm_handles_changed_locked(index);
    devid_tpm_unlock();
    return rc;
}

/* Which hierarchies the steps in `needs` authorise with, given what the TPM has. */
static devid_rc auth_ready_op(ESYS_CONTEXT *ctx, void *arg)
{
    unsigned needs = *(unsigned *)arg;
    bool owner_may = needs & (DEVID_NEEDS_CERT_NV | DEVID_NEEDS_PERSIST | DEVID_NEEDS_STORE_KEY);
    if ((!owner_may || devid_hierarchy_has_file(ESYS_TR_RH_OWNER)) &&
        (!(needs & DEVID_NEEDS_ACTIVATE) || devid_hierarchy_has_file(ESYS_TR_RH_ENDORSEMENT)))
        return DEVID_OK; /* nothing to ask the TPM */
    TPMA_PERMANENT permanent = 0;
    TPMA_STARTUP_CLEAR startup = 0;
    devid_rc rc = devid_hierarchy_state(ctx, &permanent, &startup);
    if (rc == DEVID_OK && (needs & DEVID_NEEDS_ACTIVATE))
        rc = devid_hierarchy_configured(permanent, ESYS_TR_RH_ENDORSEMENT,
                                        "TPM2_ActivateCredential with the EK (its policy: "
                                        "TPM2_PolicySecret of the endorsement hierarchy)");
    if (rc == DEVID_OK && (needs & DEVID_NEEDS_CERT_NV) && !(startup & TPMA_STARTUP_CLEAR_PHENABLE))
        rc = devid_hierarchy_configured(permanent, ESYS_TR_RH_OWNER,
                                        "defining the certificate indices (the platform "
                                        "hierarchy is disabled: the owner defines them)");
    if (rc == DEVID_OK && (needs & DEVID_NEEDS_PERSIST))
        rc = devid_hierarchy_configured(permanent, ESYS_TR_RH_OWNER,
                                        "a persistent key made or removed (TPM2_EvictControl)");
    if (rc == DEVID_OK && (needs & DEVID_NEEDS_STORE_KEY)) {
        uint32_t parent = 0; /* (probing the persistent SRK reads its public area only) */
        rc = devid_srk_default_parent(ctx, &parent);
        if (rc == DEVID_OK && parent == TPM2_RH_OWNER)
            rc = devid_hierarchy_configured(permanent, ESYS_TR_RH_OWNER,
                                            "creating the standard SRK for the new key (the "
                                            "TPM has no persistent SRK)");
    }
    return rc;
}

devid_rc devid_hierarchy_auth_ready(unsigned needs)
{
    return devid_tpm_run(auth_ready_op, &needs);
}
