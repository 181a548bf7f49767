/* SPDX-License-Identifier: Apache-2.0 */
/* devid-enroll status: what identities this device holds and whether they are healthy. */
#include "commands.h"
#include "csr_attest.h"
#include "enroll_config.h"
#include "factory_record.h"
#include "json.h"
#include "revocation.h"
#include "service.h"

#include "devid.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Everything one row of the report shows, gathered first so both formats print the same. */
typedef struct {
    const devid_map_entry *entry; /* NULL: a service identity (name) */
    char name[DEVID_LABEL_MAX + 1];
    bool present;
    char key_type[48];   /* "EC P-256", "RSA 2048" or "" */
    uint32_t key_handle; /* 0 if no key */
    bool restricted;
    bool rotating;            /* the new key of a re-key in progress (identity.h) */
    bool attested;            /* issued on TPM evidence: the EK-attested exchange for the
                                   factory identities (factory_record.h), else an attested
                                   CSR (csr_attest.h) */
    const char *attested_how; /* which evidence; NULL: attestation does not apply (EKs) */
    char cert_source[64];     /* "NV 0x01c90000", "/path", "" */
    char subject[512], issuer[512], serial[128];
    char not_before[32], not_after[32];
    long days_left;
    bool has_cert;

    devid_chain_status chain;
    char chain_detail[256];
    revocation_result rev; /* has_cert: OCSP or CRL (revocation.h) */
} status_row;

/* The files an identity's issuer may be in: core's trust anchors and the EST ones. */
void status_revocation_anchors(const char *anchors[3])
{
    const enroll_config *conf = NULL;
    anchors[0] = devid_core_config()->trust_anchors;
    anchors[1] = enroll_config_get(&conf) == DEVID_OK ? conf->est.trust_anchor : NULL;
    anchors[2] = NULL;
    devid_clear_error();
    if (!anchors[0]) { /* keep the list NULL-terminated without a hole */
        anchors[0] = anchors[1];
        anchors[1] = NULL;
    }
}

static void time_string(time_t t, char *buf, size_t n)
{
    struct tm tm;
    if (t && gmtime_r(&t, &tm))
        strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        buf[0] = '\0';
}

static void name_to_string(const X509_NAME *name, char *buf, size_t n)
{
    BIO *bio = BIO_new(BIO_s_mem());
    buf[0] = '\0';
    /* UTF-8 stays UTF-8 (not \XX escapes) */
    if (bio && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        int len = BIO_read(bio, buf, (int)n - 1);
        buf[len > 0 ? len : 0] = '\0';
    }
    BIO_free(bio);
}

static void time_to_string(const ASN1_TIME *t, char *buf, size_t n)
{
    struct tm tm;
    if (ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(buf, n, "invalid");
}

/* "EC P-256", "EC P-384" or "RSA <bits>" (pk: the public key, for the curve) */
static void key_type_name(bool ec, EVP_PKEY *pk, int rsa_bits, char *buf, size_t n)
{
    if (ec) {
        char group[32] = "";
        EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL);
        snprintf(buf, n, "EC %s",
                 strcmp(group, "prime256v1") == 0  ? "P-256"
                 : strcmp(group, "secp384r1") == 0 ? "P-384"
                                                   : group);
    } else {
        snprintf(buf, n, "RSA %d", rsa_bits);
    }
}

static void describe_key(status_row *row, const devid_key *key)
{
    row->key_handle = devid_key_get_handle(key);
    row->restricted = devid_key_get_flags(key) & DEVID_KEY_RESTRICTED;
    key_type_name(devid_key_get_type(key) == DEVID_KEY_EC, devid_key_get_public(key),
                  devid_key_get_bits(key), row->key_type, sizeof(row->key_type));
}

static void describe_cert(status_row *row, X509 *c)
{
    row->has_cert = true;
    name_to_string(X509_get_subject_name(c), row->subject, sizeof(row->subject));
    name_to_string(X509_get_issuer_name(c), row->issuer, sizeof(row->issuer));
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    snprintf(row->serial, sizeof(row->serial), "%s", hex ? hex : "?");
    OPENSSL_free(hex);
    BN_free(bn);
    time_to_string(X509_get0_notBefore(c), row->not_before, sizeof(row->not_before));
    time_to_string(X509_get0_notAfter(c), row->not_after, sizeof(row->not_after));
    int days = 0, secs = 0;
    if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(c)) == 1)
        row->days_left = days;
}

/* Whether `cert` is revoked (row->rev says what was found). */
static bool check_revocation(status_row *row, X509 *cert, STACK_OF(X509) *chain)
{
    const char *anchors[3];
    status_revocation_anchors(anchors);
    revocation_check(cert, chain, anchors, &row->rev);
    return row->rev.status == REVOCATION_REVOKED;
}

/* The certificates of a PEM file (the leaf and CA chain devid-enroll wrote); an empty stack
 * if it cannot be read (the issuer is then looked up in the trust anchors). */
static STACK_OF(X509) *read_chain_file(const char *path)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    BIO *bio = certs ? BIO_new_file(path, "r") : NULL;
    for (X509 *c; bio && (c = PEM_read_bio_X509(bio, NULL, NULL, NULL));)
        if (!sk_X509_push(certs, c))
            X509_free(c);
    BIO_free(bio);
    ERR_clear_error();
    return certs;
}

/* The service identities devid-enroll enrolled (complete store groups with a chain file): their
 * certificate and its revocation status, like the DevIDs'. Their key is a store object whose
 * public part is the certificate's (renew checks the pair). *rows is freed by the caller. */
static int gather_services(status_row **rows, size_t *count)
{
    *rows = NULL;
    *count = 0;
    renewable *r = NULL;
    size_t n = 0;
    devid_rc rc = renewable_list(&r, &n);
    if (rc == DEVID_OK && !(*rows = calloc(n ? n : 1, sizeof(**rows)))) {
        free(r);
        rc = devid_fail(DEVID_ERR_MEMORY, "status of the service identities");
    }
    if (rc != DEVID_OK)
        return command_failed("status", rc);
    int result = EXIT_HEALTHY;
    for (size_t i = 0; i < n; i++) {
        if (r[i].ldevid)
            continue;
        status_row *row = &(*rows)[(*count)++];
        snprintf(row->name, sizeof(row->name), "%s", r[i].name);
        row->present = true;
        X509 *cert = NULL;
        if (devid_store_read_cert(r[i].group.uid, &cert) != DEVID_OK) {
            snprintf(row->chain_detail, sizeof(row->chain_detail), "%s", devid_last_error());
            devid_clear_error();
            result = EXIT_ATTENTION;
            continue;
        }
        describe_cert(row, cert);
        row->attested = csr_attest_recorded(cert);
        row->attested_how = "TPM evidence from the IAK";
        snprintf(row->cert_source, sizeof(row->cert_source), "store object %s", r[i].group.uid);
        EVP_PKEY *pk = X509_get0_pubkey(cert);
        if (pk)
            key_type_name(EVP_PKEY_is_a(pk, "EC"), pk, EVP_PKEY_get_bits(pk), row->key_type,
                          sizeof(row->key_type));
        char path[4096];
        service_chain_path(r[i].name, path, sizeof(path));
        STACK_OF(X509) *chain = read_chain_file(path);
        if (check_revocation(row, cert, chain))
            result = EXIT_ATTENTION;
        sk_X509_pop_free(chain, X509_free);
        X509_free(cert);
    }
    free(r);
    ERR_clear_error();
    return result;
}

/* The identities the factory step makes; their certificates are in NV, recorded as attested
 * beside the configuration (factory_record.h). */
static bool factory_identity(int map_id)
{
    return map_id == DEVID_MAP_IDEVID || map_id == DEVID_MAP_IAK;
}

static int gather(status_row *rows)
{
    int result = EXIT_HEALTHY;
    for (int i = 0; i < DEVID_MAP_COUNT; i++) {
        status_row *row = &rows[i];
        memset(row, 0, sizeof(*row));
        row->entry = &devid_core_config()->map[i];
        devid_identity *id = NULL;
        devid_rc rc = devid_identity_load((devid_map_id)i, &id);
        if (rc == DEVID_ERR_NOT_FOUND)
            continue;
        if (rc != DEVID_OK) { /* (no TPM is no fault of this identity: not prefixed by it) */
            if (rc == DEVID_ERR_NO_TPM)
                fprintf(stderr, "devid-enroll status: %s\n", devid_last_error());
            else
                fprintf(stderr, "devid-enroll status: %s: %s\n", row->entry->label,
                        devid_last_error());
            return rc == DEVID_ERR_NO_TPM ? EXIT_NO_TPM : EXIT_FAILED;
        }
        row->present = true;
        if (id->key)
            describe_key(row, id->key);
        row->rotating = id->rotating;
        if (id->cert) {
            describe_cert(row, id->cert);
            if (factory_identity(i)) {
                row->attested = factory_record_exists(id->cert);
                row->attested_how = "the EK-attested factory exchange";
            } else if (i == DEVID_MAP_LDEVID) {
                row->attested = csr_attest_recorded(id->cert);
                row->attested_how = "TPM evidence from the IAK";
            } /* (an EK's certificate is the vendor's: attestation does not apply) */
            if (id->cert_nv)
                snprintf(row->cert_source, sizeof(row->cert_source), "NV 0x%08x", id->cert_nv);
            else
                snprintf(row->cert_source, sizeof(row->cert_source), "%s", id->entry->cert_file);
        }
        row->chain = devid_identity_verify(id, row->chain_detail, sizeof(row->chain_detail));
        if (id->cert && check_revocation(row, id->cert, id->chain))
            result = EXIT_ATTENTION;
        /* An IAK's certificate comes only from a CA that checks attestation: an IAK
         * without one (a factory that enrolled by password) is not a fault. */
        bool iak_uncertified = i == DEVID_MAP_IAK && id->key && row->chain == DEVID_CHAIN_NO_CERT;
        if (row->chain != DEVID_CHAIN_VALID && row->chain != DEVID_CHAIN_NO_ANCHORS &&
            !iak_uncertified)
            result = EXIT_ATTENTION;
        if (!id->key || id->rotating) /* (usable, but the rotation is to be completed) */
            result = EXIT_ATTENTION;
        devid_identity_free(id);
    }
    ERR_clear_error();
    return result;
}

static void print_cert_text(const status_row *r)
{
    printf("  cert:     %s\n", r->cert_source);
    printf("  subject:  %s\n  issuer:   %s\n  serial:   %s\n", r->subject, r->issuer, r->serial);
    printf("  validity: %s .. %s (%ld days left)\n", r->not_before, r->not_after, r->days_left);
    if (r->attested_how && r->attested)
        printf("  attested: yes (issued on %s)\n", r->attested_how);
    else if (r->attested_how)
        printf("  attested: no\n");
}

static void print_revocation_text(const revocation_result *rev)
{
    char next[32], when[32];
    time_string(rev->next_update, next, sizeof(next));
    time_string(rev->revoked_at, when, sizeof(when));
    printf("  revocation: %s", revocation_status_name(rev->status));
    if (rev->status == REVOCATION_REVOKED && when[0])
        printf(" since %s", when);
    if (rev->source[0])
        printf(" (%s %s%s%s%s)", rev->source, rev->url, rev->cached ? ", cached" : "",
               next[0] ? ", until " : "", next);
    if (rev->detail[0])
        printf(": %s", rev->detail);
    printf("\n");
}

static void print_text(const status_row *rows, const status_row *services, size_t nservices,
                       const broken_identity *broken, size_t nbroken)
{
    const devid_config *cfg = devid_core_config();
    printf("TPM:   %s\nstore: %s\n", cfg->tcti ? cfg->tcti : "(tpm2-tss default)", cfg->store);
    for (int i = 0; i < DEVID_MAP_COUNT; i++) {
        const status_row *r = &rows[i];
        const char *label = r->entry->label;
        const char *tag = i == DEVID_MAP_EK_RSA ? " (RSA)" : i == DEVID_MAP_EK_ECC ? " (ECC)" : "";
        if (!r->present) {
            printf("\n%s%s: absent\n", label, tag);
            continue;
        }
        printf("\n%s%s:\n", label, tag);
        if (r->rotating)
            printf("  key:      %s, the new key of a re-key in progress (store object %s%s; "
                   "handle 0x%08x being replaced: devid-enroll renew completes it)\n",
                   r->key_type, label, DEVID_ROTATION_SUFFIX, r->entry->key_handle);
        else if (r->key_handle)
            printf("  key:      %s, persistent handle 0x%08x%s\n", r->key_type, r->key_handle,
                   r->restricted ? ", restricted" : "");
        else
            printf("  key:      missing (expected at 0x%08x)\n", r->entry->key_handle);
        if (r->has_cert)
            print_cert_text(r);
        printf("  chain:    %s (%s)\n", devid_chain_status_name(r->chain), r->chain_detail);
        if (r->has_cert)
            print_revocation_text(&r->rev);
    }
    for (size_t i = 0; i < nservices; i++) {
        const status_row *r = &services[i];
        printf("\n%s (service identity):\n", r->name);
        if (!r->has_cert) {
            printf("  cert:     unreadable: %s\n", r->chain_detail);
            continue;
        }
        printf("  key:      %s, store object\n", r->key_type);
        print_cert_text(r);
        print_revocation_text(&r->rev);
    }
    for (size_t i = 0; i < nbroken; i++)
        printf("\n%s (service identity): broken: %s\n", broken[i].name, broken[i].reason);
}

/* The "certificate" and "revocation" objects of one identity. */
static void cert_json(json_writer *w, const status_row *r)
{
    json_begin_object(w, "certificate");
    json_string(w, "source", r->cert_source);
    json_string(w, "subject", r->subject);
    json_string(w, "issuer", r->issuer);
    json_string(w, "serial", r->serial);
    json_string(w, "not_before", r->not_before);
    json_string(w, "not_after", r->not_after);
    json_int(w, "days_left", r->days_left);
    json_end_object(w);
    if (r->attested_how)
        json_bool(w, "attested", r->attested);
    char next[32], when[32];
    time_string(r->rev.next_update, next, sizeof(next));
    time_string(r->rev.revoked_at, when, sizeof(when));
    json_begin_object(w, "revocation");
    json_string(w, "status", revocation_status_name(r->rev.status));
    json_string(w, "source", r->rev.source[0] ? r->rev.source : NULL);
    json_string(w, "url", r->rev.url[0] ? r->rev.url : NULL);
    json_string(w, "next_update", next[0] ? next : NULL);
    json_string(w, "revoked_at", when[0] ? when : NULL);
    json_bool(w, "cached", r->rev.cached);
    json_string(w, "detail", r->rev.detail[0] ? r->rev.detail : NULL);
    json_end_object(w);
}

static void print_json(const status_row *rows, const status_row *services, size_t nservices,
                       int result, const broken_identity *broken, size_t nbroken)
{
    const devid_config *cfg = devid_core_config();
    json_writer w;
    json_begin_command(&w, "status");
    json_string(&w, "tcti", cfg->tcti);
    json_string(&w, "store", cfg->store);
    json_bool(&w, "healthy", result == EXIT_HEALTHY);
    json_begin_array(&w, "identities");
    for (int i = 0; i < DEVID_MAP_COUNT; i++) {
        const status_row *r = &rows[i];
        json_begin_object(&w, NULL);
        json_string(&w, "name", r->entry->name);
        json_string(&w, "label", r->entry->label);
        json_bool(&w, "present", r->present);
        if (r->present)
            json_bool(&w, "rotation_in_progress", r->rotating);
        if (r->present) {
            if (r->key_handle) {
                char handle[16];
                snprintf(handle, sizeof(handle), "0x%08x", r->key_handle);
                json_begin_object(&w, "key");
                json_string(&w, "type", r->key_type);
                json_string(&w, "handle", handle);
                json_bool(&w, "restricted", r->restricted);
                json_end_object(&w);
            }
            if (r->has_cert)
                cert_json(&w, r);
            json_begin_object(&w, "chain");
            json_string(&w, "status", devid_chain_status_name(r->chain));
            json_string(&w, "detail", r->chain_detail);
            json_end_object(&w);
        }
        json_end_object(&w);
    }
    json_end_array(&w);
    json_begin_array(&w, "service_identities");
    for (size_t i = 0; i < nservices; i++) {
        const status_row *r = &services[i];
        json_begin_object(&w, NULL);
        json_string(&w, "name", r->name);
        if (r->has_cert) {
            json_begin_object(&w, "key");
            json_string(&w, "type", r->key_type);
            json_end_object(&w);
            cert_json(&w, r);
        } else {
            json_string(&w, "error", r->chain_detail);
        }
        json_end_object(&w);
    }
    json_end_array(&w);
    json_begin_array(&w, "broken_identities");
    for (size_t i = 0; i < nbroken; i++) {
        json_begin_object(&w, NULL);
        json_string(&w, "name", broken[i].name);
        json_string(&w, "detail", broken[i].reason);
        json_end_object(&w);
    }
    json_end_array(&w);
    json_end_command(&w, result);
}

int cmd_status(const enroll_options *opt, int argc, char **argv)
{
    (void)argv;
    if (argc > 0)
        return usage_failed("status", "unexpected argument '%s'", argv[0]);
    status_row rows[DEVID_MAP_COUNT];
    int result = gather(rows);
    if (result == EXIT_NO_TPM || result == EXIT_FAILED)
        return result;
    status_row *services = NULL;
    size_t nservices = 0;
    int services_result = gather_services(&services, &nservices);
    if (services_result != EXIT_HEALTHY && services_result != EXIT_ATTENTION)
        return services_result; /* (said) */
    if (services_result != EXIT_HEALTHY)
        result = services_result;
    broken_identity *broken = NULL;
    size_t nbroken = 0;
    devid_rc rc = service_list_broken(&broken, &nbroken);
    if (rc != DEVID_OK) {
        free(services);
        return command_failed("status", rc);
    }
    if (nbroken)
        result = EXIT_ATTENTION;
    if (opt->json)
        print_json(rows, services, nservices, result, broken, nbroken);
    else
        print_text(rows, services, nservices, broken, nbroken);
    free(services);
    free(broken);
    return result;
}
