/* SPDX-License-Identifier: Apache-2.0 */
#include "factory_iak.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fault injection for the crash tests (as in renewable.c): DEVID_ENROLL_CRASH_AT=<point>
 * makes the process die by SIGKILL there, as a power cut would. */
void factory_crash_point(const char *point)
{
    const char *at = getenv("DEVID_ENROLL_CRASH_AT");
    if (at && strcmp(at, point) == 0) {
        fflush(NULL);
        raise(SIGKILL);
    }
}

devid_rc factory_ensure_iak(EVP_PKEY *idevid_pub, const char **action, devid_key **keep)
{
    if (keep)
        *keep = NULL;
    const devid_map_entry *entry = &devid_core_config()->map[DEVID_MAP_IAK];
    const char *unused;
    if (!action)
        action = &unused;
    *action = "none";
    if (!entry->key_handle)
        return DEVID_OK;
    devid_key_type type = EVP_PKEY_get_base_id(idevid_pub) == EVP_PKEY_RSA ? DEVID_KEY_RSA
                                                                           : DEVID_KEY_EC;
    bool created = false;
    devid_key *iak = NULL;
    factory_crash_point("factory-before-iak");
    devid_rc rc = devid_iak_ensure(type, &created, &iak);
    if (rc == DEVID_OK && created)
        printf("IAK: created key at 0x%08x (%s %d, restricted signing key)\n", entry->key_handle,
               type == DEVID_KEY_RSA ? "RSA" : "EC", devid_key_get_bits(iak));
    if (rc == DEVID_OK && keep)
        *keep = iak;
    else
        devid_key_free(iak);
    if (rc == DEVID_OK)
        *action = created ? "created" : "reused";
    if (rc == DEVID_OK)
        factory_crash_point("factory-after-iak");
    return rc;
}
