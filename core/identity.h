/* SPDX-License-Identifier: Apache-2.0 */
/* Device identities: the DevID map entries (EK, IDevID, IAK, LDevID) as they exist on this
 * device, each with its key, certificate and CA chain. Front-ends and devid-enroll see the
 * identities through this one view, so they always agree on what the device holds. */
#ifndef DEVID_IDENTITY_H
#define DEVID_IDENTITY_H

#include "config.h"
#include "error.h"
#include "key.h"

#include <openssl/x509.h>
#include <stdbool.h>

typedef struct devid_identity {
    devid_map_id id;
    const devid_map_entry *entry; /* from the configuration */
    devid_key *key;               /* NULL: no key at entry->key_handle */
    X509 *cert;                   /* NULL: no certificate (see cert_error) */
    STACK_OF(X509) *chain;        /* CA certificates that came with it; never NULL */
    uint32_t cert_nv;             /* index the certificate was read from, 0 if not NV */
    char cert_error[256];         /* why a configured certificate could not be read */
    bool rotating;                /* key and cert are the new pair of a rotation in progress
                                      (store object LABEL.pending; see devid_identity_load) */
    bool key_present;             /* the TPM has a persistent object at entry->key_handle */
    bool key_loaded, cert_loaded; /* the parts read so far (see devid_identity_probe) */
} devid_identity;

/* Label suffix of the store object holding an identity's next key and certificate while
 * devid-enroll rotates it (e.g. "LDevID.pending"). */
#define DEVID_ROTATION_SUFFIX ".pending"

/* Loads map entry `id`. DEVID_ERR_NOT_FOUND when the device has neither its key nor its
 * certificate; other errors (no TPM) are returned as such. A missing or unreadable
 * certificate alone is not an error: cert is NULL and cert_error says why.
 *
 * An owner identity (certificate in a file) being re-keyed goes through two states the
 * consumers must not see as broken: its persistent handle empty (the old key evicted, the new
 * one not yet persisted: TPM2_EvictControl cannot replace a key in one step), and the new key
 * at the handle while the file still holds the old certificate. In both, when the store holds
 * the complete and matching new pair labelled LABEL.pending, that pair is the identity
 * (rotating = true); devid-enroll completes the rotation on its next run. */
devid_rc devid_identity_load(devid_map_id id, devid_identity **out);

/* Lazy loading, for front-ends that must start fast: devid_identity_probe only learns whether
 * the key exists (key_present, from the TPM's list of persistent handles: one
 * TPM2_GetCapability, shared by all entries) and reads nothing; devid_identity_load_key opens
 * the key (one TPM2_ReadPublic) and devid_identity_load_cert reads the certificate and chain,
 * each at most once. The probed identity may turn out to have neither (not an error here).
 * When the store holds a pending pair for an owner identity, the probe loads both halves at
 * once and decides whether the identity is mid-rotation (see devid_identity_load). */
devid_rc devid_identity_probe(devid_map_id id, devid_identity **out);
devid_rc devid_identity_load_key(devid_identity *ident);
devid_rc devid_identity_load_cert(devid_identity *ident);
void devid_identity_free(devid_identity *ident);

typedef enum devid_chain_status {
    DEVID_CHAIN_VALID = 0, /* key matches, chain verifies to a trust anchor, in validity */
    DEVID_CHAIN_NO_CERT,
    DEVID_CHAIN_KEY_MISMATCH, /* the certificate is not for this key */
    DEVID_CHAIN_NO_ANCHORS,   /* no trust_anchors configured: not checked */
    DEVID_CHAIN_EXPIRED,
    DEVID_CHAIN_NOT_YET_VALID,
    DEVID_CHAIN_UNTRUSTED, /* does not chain to a trust anchor (detail says why) */
} devid_chain_status;

const char *devid_chain_status_name(devid_chain_status st);

/* Checks the identity's certificate against its key and the configured trust anchors
 * (config trust_anchors), with the identity's own chain as untrusted intermediates. */
devid_chain_status devid_identity_verify(const devid_identity *ident, char *detail,
                                         size_t detail_len);

#endif
