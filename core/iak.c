/* SPDX-License-Identifier: Apache-2.0 */
/* The factory's IAK (attest.h): found at its map handle, or made from the TCG template. */
#include "attest.h"
#include "config.h"
#include "core.h"
#include "devid_templates.h"
#include "key_internal.h"
#include "provision.h"

#include <openssl/obj_mac.h>

bool devid_key_signs_arbitrary_data(const devid_key *key)
{
    return key && !(key->flags & DEVID_KEY_RESTRICTED);
}

devid_rc devid_iak_ensure(devid_key_type type, bool *created, devid_key **out)
{
    *created = false;
    *out = NULL;
    const devid_map_entry *entry = &devid_core_config()->map[DEVID_MAP_IAK];
    if (!entry->key_handle)
        return devid_fail(DEVID_ERR_CONFIG, "the IAK has no key handle in the configuration");
    devid_key *key = NULL;
    devid_rc rc = devid_key_open_persistent(entry->key_handle, &key);
    if (rc == DEVID_OK) {
        if (!devid_factory_public_ok(DEVID_TEMPLATE_IAK, &key->pub)) {
            devid_key_free(key);
            return devid_fail(DEVID_ERR_PROHIBITED,
                              "handle 0x%08x holds a key that is not a "
                              "restricted signing key of this TPM: not an IAK; left alone "
                              "(configure another handle with iak.key, or iak.key = none)",
                              entry->key_handle);
        }
        *out = key;
        return DEVID_OK;
    }
    if (rc != DEVID_ERR_NOT_FOUND)
        return rc;
    devid_clear_error();
    devid_provision_spec spec = {
        .handle = entry->key_handle,
        .hierarchy = DEVID_HIER_ENDORSEMENT,
        .type = type,
        .curve_nid = NID_X9_62_prime256v1,
        .bits = 2048,
        .tmpl = DEVID_TEMPLATE_IAK,
    };
    rc = devid_provision_key(&spec, out);
    *created = rc == DEVID_OK;
    return rc;
}
