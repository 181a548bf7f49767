/* SPDX-License-Identifier: Apache-2.0 */
/* Service identities in the store: their names, chain files, groups and new keys. */
#include "service.h"
#include "tpmkey.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool service_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64 || strcmp(name, "LDevID") == 0 || strcmp(name, "IDevID") == 0)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
            return false;
    return !strstr(name, PENDING) && name[0] != '.';
}

void service_chain_path(const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s-chain.pem", devid_core_config()->store, name);
}

/* Finds the store group labelled `label`. */
devid_rc service_find_group(const char *label, devid_store_entry *out)
{
    devid_store_entry *e = NULL;
    size_t n = 0;
    devid_rc rc = devid_store_list(&e, &n);
    if (rc == DEVID_OK)
        rc = service_find_group_in(e, n, label, out);
    free(e);
    return rc;
}

devid_rc service_find_group_in(const devid_store_entry *e, size_t n, const char *label,
                               devid_store_entry *out)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].attrs.label, label) == 0) {
            *out = e[i];
            return DEVID_OK;
        }
    return DEVID_ERR_NOT_FOUND;
}

/* A new store key labelled `label`, with CKA_ID = its public key id; opened as EVP_PKEY. */
devid_rc service_new_store_key(const enroll_ctx *ctx, const char *label, bool rsa, bool map_key,
                               char uid[DEVID_UID_LEN + 1], EVP_PKEY **pkey)
{
    devid_keygen p = { .sign = true, .map_key = map_key, .id_from_key = true };
    enroll_key_choice(ctx, rsa, &p.type, &p.curve_nid, &p.bits);
    p.decrypt = p.type == DEVID_KEY_RSA;
    devid_store_attrs attrs = { 0 };
    snprintf(attrs.label, sizeof(attrs.label), "%s", label);
    devid_rc rc = devid_store_generate(&p, &attrs, uid);
    if (rc == DEVID_OK)
        rc = devid_store_get_attrs(uid, &attrs); /* as core wrote them (CKA_ID) */
    if (rc == DEVID_OK)
        rc = enroll_store_key(attrs.label, attrs.id, attrs.id_len, pkey);
    if (rc != DEVID_OK && uid[0])
        devid_store_delete(uid, DEVID_STORE_KEY | DEVID_STORE_CERT);
    return rc;
}
