/* SPDX-License-Identifier: Apache-2.0 */
/* Provisioning of persistent DevID keys and NV certificates: the factory and owner steps of
 * devid-enroll. The PKCS#11 module and the provider never call these (docs/design.md: they find
 * the DevIDs, they never create or delete them). */
#ifndef DEVID_PROVISION_H
#define DEVID_PROVISION_H

#include "error.h"
#include "key.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum devid_hierarchy {
    DEVID_HIER_ENDORSEMENT, /* a primary key in the endorsement hierarchy (IDevID, IAK) */
    DEVID_HIER_OWNER,       /* a child of the SRK in the storage hierarchy (LDevID) */
} devid_hierarchy;

/* Which template a provisioned key is made from (devid_templates.h). */
typedef enum devid_provision_template {
    DEVID_TEMPLATE_PLAIN = 0, /* devid's general signing key (keygen.h) */
    DEVID_TEMPLATE_IDEVID,    /* TCG device identity: unrestricted signing key */
    DEVID_TEMPLATE_IAK,       /* TCG device identity: restricted signing (attestation) key */
} devid_provision_template;

typedef struct devid_provision_spec {
    uint32_t handle; /* persistent handle to make it at */
    devid_hierarchy hierarchy;
    devid_key_type type;
    int curve_nid;                 /* EC: NID_X9_62_prime256v1 or NID_secp384r1 */
    int bits;                      /* RSA: 2048, 3072, 4096 */
    devid_provision_template tmpl; /* TCG templates: endorsement hierarchy only */
} devid_provision_spec;

/* Creates a signing key per spec and makes it persistent at spec->handle. An occupied handle
 * is never overwritten: DEVID_ERR_PROHIBITED ("handle in use"). Returns the opened key. */
devid_rc devid_provision_key(const devid_provision_spec *spec, devid_key **out);

/* Makes the store key `uid` persistent at `handle` (a re-keyed LDevID taking over the LDevID
 * handle once the old key is removed). The store copy stays until the caller deletes it.
 * A key bound to the token is refused (DEVID_ERR_PROHIBITED): map keys have no auth value, so
 * generate it with devid_keygen.map_key. */
devid_rc devid_provision_persist_store_key(const char *uid, uint32_t handle);

/* Removes the persistent key at handle (owner authorisation). */
devid_rc devid_provision_remove_key(uint32_t handle);

/* What a step will ask of the TPM's hierarchies, for devid_hierarchy_auth_ready. */
#define DEVID_NEEDS_ACTIVATE                                                                       \
    0x1u /* TPM2_ActivateCredential with the EK (its policy: the
                                    * endorsement hierarchy's PolicySecret) */
#define DEVID_NEEDS_CERT_NV                                                                        \
    0x2u /* defining certificate NV indices (devid_nv_write_cert): the
                                    * owner, when the platform hierarchy is disabled */
#define DEVID_NEEDS_PERSIST                                                                        \
    0x4u /* TPM2_EvictControl (devid_provision_key,
                                    * _persist_store_key, _remove_key): the owner */
#define DEVID_NEEDS_STORE_KEY                                                                      \
    0x8u /* a new store key: the owner, when there is no persistent
                                    * SRK (the standard SRK is created) */

/* Asked by a step before it does what cannot be undone (a CA asked to issue, identities
 * removed): whether the hierarchy auth values the `needs` (DEVID_NEEDS_*) of the rest of the
 * step are configured. DEVID_ERR_CONFIG naming the setting when the TPM has such an auth value
 * (TPMA_PERMANENT) and the configuration no file for it. No authorisation is sent: one
 * TPM2_GetCapability (and for DEVID_NEEDS_STORE_KEY the persistent SRK's public area), none
 * when the files needed are configured (their one use tells whether they are right). */
devid_rc devid_hierarchy_auth_ready(unsigned needs);

/* Writes a DER certificate into NV index `index`, defining it (platform hierarchy when its
 * authorisation is available, as at a factory station; else the owner) with TCG certificate
 * index attributes, sized to the certificate. An existing index is replaced only if
 * `replace` is set. */
devid_rc devid_nv_write_cert(uint32_t index, const unsigned char *der, size_t len, bool replace);

#endif
