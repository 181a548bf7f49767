/* SPDX-License-Identifier: Apache-2.0 */
/* Orphaned TPM objects on a TPM without a resource manager (swtpm over TCP, as the fixture):
 * a devid process that finds the TPM full with nothing of its own to flush may flush the
 * objects of crashed runs, never those of a devid process that is alive (core/tpm_users.h).
 *
 *   orphans keygen LABEL...        store keys (EC P-256) with these labels
 *   orphans signer LABEL STOPFILE  signs with LABEL's key, one object loaded all along, until
 *                                  STOPFILE exists; exit 1 if it had to reload it (flushed
 *                                  under it: a new TPM connection) or any signature failed
 *   orphans flusher SECONDS        for SECONDS, again and again, the path that frees a slot
 *                                  when the TPM is full and nothing of ours is loaded
 *                                  (devid_keys_evict_one with nothing loaded); prints how many
 *                                  times it freed one
 *   orphans crash LABEL            loads LABEL's key, then dies by SIGKILL (a crashed run)
 *   orphans transient              prints the number of transient objects in the TPM
 * (tests/soak/orphans.sh runs them against each other.) */
#include "devid.h"
#include "key_internal.h"
#include "tpm.h"

#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static devid_key *open_label(const char *label)
{
    devid_store_entry *e = NULL;
    size_t n = 0;
    devid_key *key = NULL;
    if (devid_store_list(&e, &n) != DEVID_OK)
        return NULL;
    for (size_t i = 0; i < n && !key; i++)
        if (e[i].has_key && strcmp(e[i].attrs.label, label) == 0 &&
            devid_store_open_key(e[i].uid, &key) != DEVID_OK)
            key = NULL;
    free(e);
    if (!key)
        fprintf(stderr, "orphans: no key labelled %s: %s\n", label, devid_last_error());
    return key;
}

static bool sign_once(devid_key *key)
{
    unsigned char digest[32] = { 1, 2, 3 }, sig[128];
    size_t len = sizeof(sig);
    return devid_key_sign(key, DEVID_SIG_ECDSA, NID_sha256, digest, sizeof(digest), sig, &len) ==
           DEVID_OK;
}

static uint64_t generation(void)
{
    ESYS_CONTEXT *ctx;
    devid_tpm_lock_noconnect(&ctx);
    uint64_t g = devid_tpm_generation_locked();
    devid_tpm_unlock();
    return g;
}

static int transient_count(void)
{
    ESYS_CONTEXT *ctx;
    if (devid_tpm_lock(&ctx) != DEVID_OK)
        return -1;
    TPMI_YES_NO more = 0;
    TPMS_CAPABILITY_DATA *cap = NULL;
    int n = -1;
    if (Esys_GetCapability(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                           0x80000000u, TPM2_MAX_CAP_HANDLES, &more, &cap) == 0)
        n = (int)cap->data.handles.count;
    Esys_Free(cap);
    devid_tpm_unlock();
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2 || devid_core_init() != DEVID_OK) {
        fprintf(stderr, "orphans: usage, or core: %s\n", devid_last_error());
        return 2;
    }
    const char *mode = argv[1];
    int rc = 0;
    if (strcmp(mode, "keygen") == 0) {
        for (int i = 2; i < argc && rc == 0; i++) {
            devid_keygen p = { .type = DEVID_KEY_EC,
                               .curve_nid = NID_X9_62_prime256v1,
                               .sign = true };
            devid_store_attrs a = { 0 };
            snprintf(a.label, sizeof(a.label), "%s", argv[i]);
            char uid[DEVID_UID_LEN + 1];
            if (devid_store_generate(&p, &a, uid) != DEVID_OK) {
                fprintf(stderr, "orphans: keygen %s: %s\n", argv[i], devid_last_error());
                rc = 1;
            }
        }
    } else if (strcmp(mode, "signer") == 0 && argc == 4) {
        devid_key *key = open_label(argv[2]);
        long n = 0, failed = 0;
        if (!key || !sign_once(key)) {
            devid_core_fini();
            return 1;
        }
        uint64_t g0 = generation();
        printf("signer: loaded\n");
        fflush(stdout);
        for (; access(argv[3], F_OK) != 0; n++)
            if (!sign_once(key) && failed++ < 3)
                fprintf(stderr, "signer: signature %ld: %s\n", n, devid_last_error());
        uint64_t reconnects = generation() - g0;
        printf("signer: %ld signatures, %ld failed, %llu reconnect(s) (its key flushed under "
               "it)\n",
               n, failed, (unsigned long long)reconnects);
        rc = failed || reconnects ? 1 : 0;
        devid_key_free(key);
    } else if (strcmp(mode, "flusher") == 0 && argc == 3) {
        time_t end = time(NULL) + atol(argv[2]);
        long freed = 0, rounds = 0;
        while (time(NULL) < end) {
            ESYS_CONTEXT *ctx;
            if (devid_tpm_lock(&ctx) != DEVID_OK) {
                rc = 1;
                break;
            }
            freed += devid_keys_evict_one(ctx);
            devid_tpm_unlock();
            rounds++;
            usleep(1000); /* (a busy machine: room for the signer) */
        }
        printf("flusher: freed a slot %ld time(s) in %ld rounds\n", freed, rounds);
    } else if (strcmp(mode, "crash") == 0 && argc == 3) {
        devid_key *key = open_label(argv[2]);
        if (!key || !sign_once(key))
            return 1;
        fflush(NULL);
        raise(SIGKILL);
    } else if (strcmp(mode, "transient") == 0) {
        printf("%d\n", transient_count());
    } else {
        fprintf(stderr, "orphans: unknown mode %s\n", mode);
        rc = 2;
    }
    devid_core_fini();
    return rc;
}
