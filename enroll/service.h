/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to devid-enroll: what the commands for the device's life after the factory
 * (cmd_enroll.c, cmd_renew.c, cmd_run.c, cmd_retire.c) share.
 *
 * Service identities are store groups (a key and its certificate) labelled NAME, with their
 * CA chain in STORE/NAME-chain.pem. Rotation never loses an identity: a new key and
 * certificate are written as a pending store group (NAME.pending) first; only when the pair
 * is complete and verified does it replace the old one, and a run that finds a pending group
 * (after a crash) finishes or discards it (rotation_recovery.c). */
#ifndef DEVID_ENROLL_SERVICE_H
#define DEVID_ENROLL_SERVICE_H

#include "commands.h"
#include "context.h"

#include "devid.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* The label suffix of a rotation's pending store group. */
#define PENDING DEVID_ROTATION_SUFFIX

/* ---- command line (service_args.c) ---- */

/* What the daemon last said of each identity's due time: it says it again only when the
 * time changes, not once per pass. */
typedef struct {
    struct {
        char name[DEVID_LABEL_MAX + 1];
        time_t due;
    } said[64];
    size_t n;
} due_notes;

/* What renew did to one identity (renew --json). */
typedef struct {
    char name[DEVID_LABEL_MAX + 1];
    const char *action;     /* renewed, re-keyed, revoked-renewed, not-due, broken, failed */
    bool revoked;           /* its certificate was found revoked (renewed with a new key) */
    time_t due;             /* not-due: when it is */
    bool rekey_in_progress; /* failed after the new pair was stored: the next run ends it */
    char error[512];        /* broken, failed: why */
} renew_outcome;

typedef struct {
    renew_outcome *items;
    size_t n;
    char error[512]; /* the pass's own failure (not of one identity), if any */
} renew_report;

/* The options of enroll, renew and run. */
typedef struct {
    bool rsa, rekey, force;
    const char *subject;
    long interval;        /* run: the longest wait between passes, seconds (3600) */
    due_notes *notes;     /* run: "not due" lines said so far (NULL: say them all) */
    renew_report *report; /* renew --json: what each identity got (NULL: not kept) */
    bool *passed;         /* renew --json: set once the pass got past its preconditions */
    bool *idevid_revoked; /* run: set when the pass found the IDevID revoked (fatal) */
} service_args;

/* Parses the options of command `cmd` into *a and leaves argc and argv on the operands.
 * EXIT_HEALTHY, or EXIT_USAGE after saying what is wrong. */
int service_parse_args(const char *cmd, int *argc, char ***argv, service_args *a);

/* ---- service identities in the store (service_store.c) ---- */

/* Whether `name` may name a service identity: 1-64 letters, digits, '-', '_', '.', not
 * IDevID/LDevID, not hidden, not containing the pending suffix. */
bool service_name_valid(const char *name);

/* The path of NAME's chain file in the store directory. */
void service_chain_path(const char *name, char *path, size_t len);

/* Finds the store group labelled `label`: DEVID_ERR_NOT_FOUND when there is none. */
devid_rc service_find_group(const char *label, devid_store_entry *out);
/* The same among the store's groups e (devid_store_list's). */
devid_rc service_find_group_in(const devid_store_entry *e, size_t n, const char *label,
                               devid_store_entry *out);

/* A new store key labelled `label` (the server's wish, or EC P-256 / RSA 2048 with rsa),
 * with CKA_ID = its public key id; opened as EVP_PKEY. With map_key it is to become a DevID
 * map key (the re-keyed LDevID): no auth value, never the token secret. On failure nothing is
 * left in the store. */
devid_rc service_new_store_key(const enroll_ctx *ctx, const char *label, bool rsa, bool map_key,
                               char uid[DEVID_UID_LEN + 1], EVP_PKEY **pkey);

/* ---- broken service identities (service_broken.c) ---- */

typedef struct {
    char name[DEVID_LABEL_MAX + 1];
    char reason[160];
} broken_identity;

/* The service identities devid-enroll made (a chain file in the store) whose key or
 * certificate is gone from the store. *out is freed by the caller. */
devid_rc service_list_broken(broken_identity **out, size_t *count);
/* The same among the store's groups e (devid_store_list's). */
devid_rc service_list_broken_in(const devid_store_entry *e, size_t n, broken_identity **out,
                                size_t *count);

/* ---- after a crash (rotation_recovery.c) ---- */

/* Finishes or discards what a crashed rotation left: pending groups with a certificate
 * replace their target, those without are removed. Returns the store's groups as they are
 * after it (listed again only if it changed anything: one listing serves the whole command).
 * *groups is freed by the caller. */
devid_rc service_recover_pending(devid_store_entry **groups, size_t *count);

/* ---- the identities devid-enroll renews (renewable.c) ---- */

typedef struct {
    char name[DEVID_LABEL_MAX + 1];
    bool ldevid;
    devid_store_entry group; /* store objects */
} renewable;

/* The LDevID and every complete store identity devid-enroll made. *out is freed by the
 * caller. */
devid_rc renewable_list(renewable **out, size_t *count);
/* The same among the store's groups e (devid_store_list's). */
devid_rc renewable_list_in(const devid_store_entry *e, size_t n, renewable **out, size_t *count);

/* A renewable's current key, certificate and CA chain: what says whether it is due and what
 * authenticates its renewal (opened once per pass: each opening costs TPM commands). */
typedef struct {
    EVP_PKEY *key;
    X509 *cert;
    STACK_OF(X509) *chain;
} renewable_identity;

/* Opens r's current identity (free it with renewable_identity_free, also after a failure). */
devid_rc renewable_current(const renewable *r, renewable_identity *cur);
void renewable_identity_free(renewable_identity *cur);

/* One renewal: same key (re-enroll) or a new one (re-key), authenticated with the current
 * identity `cur` (from renewable_current; a re-key of the LDevID consumes its key). */
devid_rc renewable_renew(enroll_ctx *ctx, const renewable *r, renewable_identity *cur, bool rekey);

/* ---- the renewal pass (cmd_renew.c) ---- */

/* One pass over everything renewable (or the names in argv), renewing what is due. *next
 * gets the earliest future due time (0: none). Returns the exit code. */
int renew_pass(const enroll_options *opt, const service_args *a, int argc, char **argv,
               time_t *next);

#endif
