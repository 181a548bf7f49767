/* SPDX-License-Identifier: Apache-2.0 */
/* devid-enroll enroll NAME: a service identity (a store key) enrolled with the LDevID as TLS
 * client identity, written as the pending group first and relabelled NAME once its
 * certificate is stored and verified. */
#include "service.h"
#include "tpmkey.h"

#include "json.h"

#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

/* The LDevID as TLS client identity (operational enrollment authenticates with it). */
static devid_rc use_ldevid(enroll_ctx *ctx, devid_identity **ldevid, EVP_PKEY **pkey)
{
    devid_rc rc = devid_identity_load(DEVID_MAP_LDEVID, ldevid);
    if (rc == DEVID_OK && (!(*ldevid)->key || !(*ldevid)->cert))
        rc = DEVID_ERR_NOT_FOUND;
    if (rc == DEVID_ERR_NOT_FOUND)
        return devid_fail(rc, "no LDevID (key and certificate) to authenticate with: run "
                              "devid-enroll ldevid first");
    if (rc == DEVID_OK)
        rc = enroll_key_by_handle((*ldevid)->entry->key_handle, pkey);
    if (rc == DEVID_OK)
        enroll_ctx_use_tls_identity(ctx, *pkey, (*ldevid)->cert, (*ldevid)->chain);
    return rc;
}

/* --json: the service identity NAME and its certificate (already: enrolled before, the
 * certificate as its chain file holds it). */
static void enroll_json(const char *name, bool already, X509 *cert, const char *path)
{
    json_writer w;
    json_begin_command(&w, "enroll");
    json_string(&w, "name", name);
    json_bool(&w, "already_enrolled", already);
    if (cert)
        json_cert_fields(&w, cert);
    json_string(&w, "chain_file", path);
    json_end_command(&w, EXIT_HEALTHY);
}

static void enroll_json_existing(const char *name)
{
    char path[4096];
    service_chain_path(name, path, sizeof(path));
    FILE *f = fopen(path, "r");
    X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    ERR_clear_error();
    enroll_json(name, true, cert, cert ? path : NULL);
    X509_free(cert);
}

int cmd_enroll(const enroll_options *opt, int argc, char **argv)
{
    service_args a;
    int ec = service_parse_args("enroll", &argc, &argv, &a);
    if (ec != EXIT_HEALTHY)
        return ec;
    if (argc != 1 || !service_name_valid(argv[0])) {
        return usage_failed("enroll", "expected one NAME of letters, digits, '-', '_', '.' (not "
                                      "IDevID/LDevID)");
    }
    const char *name = argv[0];
    devid_store_entry *groups = NULL; /* the store after the recovery: listed once */
    size_t ngroups = 0;
    devid_rc rec = service_recover_pending(&groups, &ngroups);
    if (rec != DEVID_OK)
        return command_failed("enroll", rec);
    devid_store_entry existing;
    bool enrolled = service_find_group_in(groups, ngroups, name, &existing) == DEVID_OK &&
                    existing.has_cert;
    free(groups);
    if (enrolled) {
        printf("%s: already enrolled; renewal: devid-enroll renew %s\n", name, name);
        if (opt->json)
            enroll_json_existing(name);
        return EXIT_HEALTHY;
    }
    enroll_ctx ctx;
    devid_identity *ldevid = NULL;
    EVP_PKEY *auth = NULL, *pkey = NULL;
    X509_NAME *subject = NULL;
    X509 *leaf = NULL;
    STACK_OF(X509) *chain = NULL;
    char uid[DEVID_UID_LEN + 1] = "", pending[DEVID_LABEL_MAX + 16], path[4096];
    snprintf(pending, sizeof(pending), "%s%s", name, PENDING);
    devid_rc rc = enroll_ctx_init(&ctx, opt);
    if (rc == DEVID_OK)
        rc = use_ldevid(&ctx, &ldevid, &auth);
    if (rc == DEVID_OK && a.subject)
        rc = enroll_parse_subject(a.subject, &subject);
    else if (rc == DEVID_OK) { /* default: the device's subject with CN = the service name */
        subject = X509_NAME_dup(X509_get_subject_name(ldevid->cert));
        int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        if (i >= 0)
            X509_NAME_ENTRY_free(X509_NAME_delete_entry(subject, i));
        X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                   (const unsigned char *)name, -1, -1, 0);
    }
    if (rc == DEVID_OK) /* (a hierarchy auth the key needs and nobody configured: before the CA) */
        rc = devid_hierarchy_auth_ready(DEVID_NEEDS_STORE_KEY);
    if (rc == DEVID_OK) {
        enroll_fetch_wishes(&ctx);
        rc = service_new_store_key(&ctx, pending, a.rsa, false, uid, &pkey);
    }
    if (rc == DEVID_OK)
        rc = enroll_get_cert(&ctx, EST_SIMPLEENROLL, pkey, &(enroll_key_ref){ .uid = uid }, subject,
                             NULL, &leaf, &chain);
    if (rc == DEVID_OK)
        rc = devid_store_put_cert(uid, leaf, NULL, NULL);
    if (rc == DEVID_OK) {
        service_chain_path(name, path, sizeof(path));
        rc = enroll_write_chain(path, leaf, chain);
    }
    if (rc == DEVID_OK) { /* complete and verified: it becomes NAME */
        devid_store_attrs attrs;
        rc = devid_store_get_attrs(uid, &attrs);
        snprintf(attrs.label, sizeof(attrs.label), "%s", name);
        if (rc == DEVID_OK)
            rc = devid_store_set_attrs(uid, &attrs);
    }
    if (rc != DEVID_OK && uid[0])
        devid_store_delete(uid, DEVID_STORE_KEY | DEVID_STORE_CERT);
    if (rc == DEVID_OK) {
        printf("%s: enrolled; key in the store (devid:object=%s), chain in %s\n", name, name, path);
        if (opt->json)
            enroll_json(name, false, leaf, path);
    }
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(pkey);
    EVP_PKEY_free(auth);
    X509_NAME_free(subject);
    devid_identity_free(ldevid);
    enroll_ctx_free(&ctx);
    return rc == DEVID_OK ? EXIT_HEALTHY : command_failed("enroll", rc);
}
