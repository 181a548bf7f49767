/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper: TPM2_Certify of the IDevID by the IAK at their DevID map handles, as a device
 * does for attested requests after the factory (devid_certify), with the qualifying data
 * given. Prints the TPM commands it took; exit 0 when the certification came back checked.
 * usage: certify-idevid QUALIFYING */
#include "devid.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 2 || strlen(argv[1]) > DEVID_CERTIFY_QUALIFYING_MAX) {
        fprintf(stderr, "usage: certify-idevid QUALIFYING (at most %d bytes)\n",
                DEVID_CERTIFY_QUALIFYING_MAX);
        return 2;
    }
    if (devid_core_init() != DEVID_OK) {
        fprintf(stderr, "certify-idevid: %s\n", devid_last_error());
        return 1;
    }
    const devid_config *cfg = devid_core_config();
    devid_key *iak = NULL, *idevid = NULL;
    devid_certification c;
    memset(&c, 0, sizeof(c));
    devid_rc rc = devid_key_open_persistent(cfg->map[DEVID_MAP_IAK].key_handle, &iak);
    if (rc == DEVID_OK)
        rc = devid_key_open_persistent(cfg->map[DEVID_MAP_IDEVID].key_handle, &idevid);
    if (rc == DEVID_OK)
        rc = devid_certify(iak, idevid, (const unsigned char *)argv[1], strlen(argv[1]), &c);
    if (rc == DEVID_OK)
        printf("certified: %zu-byte TPMS_ATTEST, %llu TPM commands\n", c.attest_len,
               (unsigned long long)devid_tpm_command_count());
    else
        fprintf(stderr, "certify-idevid: %s\n", devid_last_error());
    devid_certification_clear(&c);
    devid_key_free(idevid);
    devid_key_free(iak);
    devid_core_fini();
    return rc == DEVID_OK ? 0 : 1;
}
