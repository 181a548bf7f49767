/* SPDX-License-Identifier: Apache-2.0 */
/* The factory and owner steps: trust bootstrap (cacerts), the IDevID (factory station, HTTP
 * Basic and/or a header secret) and the LDevID (authenticated with the IDevID). Each is
 * idempotent: an identity that is already valid is left alone. */
#include "commands.h"
#include "context.h"
#include "factory_attest.h"
#include "factory_iak.h"
#include "factory_record.h"
#include "fsutil.h"
#include "json.h"
#include "subject.h"
#include "tpmkey.h"

#include "devid.h"

#include <errno.h>
#include <getopt.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *subject;
    const char *out;
    const char *fingerprint;
    bool rsa;
} factory_args;

static int parse_args(const char *cmd, int argc, char **argv, factory_args *a)
{
    static const struct option longopts[] = {
        { "subject", required_argument, NULL, 's' },
        { "out", required_argument, NULL, 'o' },
        { "fingerprint", required_argument, NULL, 'f' },
        { "rsa", no_argument, NULL, 'r' },
        { NULL, 0, NULL, 0 },
    };
    memset(a, 0, sizeof(*a));
    optind = 0;
    int c;
    while ((c = getopt_long(argc + 1, argv - 1, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            a->subject = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'f':
            a->fingerprint = optarg;
            break;
        case 'r':
            a->rsa = true;
            break;
        default:
            return usage_failed(cmd, "bad option (see devid-enroll %s --help)", cmd);
        }
    }
    if (optind < argc + 1) {
        return usage_failed(cmd, "unexpected argument '%s'", argv[optind - 1]);
    }
    return EXIT_HEALTHY;
}

/* The CA certificate of `certs` whose SHA-256 is `want`, or NULL. */
static X509 *find_fingerprint(STACK_OF(X509) *certs, const unsigned char want[32])
{
    for (int i = 0; i < sk_X509_num(certs); i++) {
        unsigned char md[32];
        unsigned int mdlen = 0;
        X509 *c = sk_X509_value(certs, i);
        if (X509_digest(c, EVP_sha256(), md, &mdlen) == 1 && mdlen == 32 &&
            memcmp(md, want, 32) == 0)
            return c;
    }
    return NULL;
}

/* Bootstrap (RFC 7030 4.1.1): /cacerts from a server not yet authenticated, no secret with
 * it; the CA certificate whose fingerprint was configured becomes the one trust anchor, and
 * /cacerts is fetched again over TLS verified against it: only what that authenticated answer
 * holds is kept (the first answer could carry any extra certificate). */
static devid_rc bootstrap(enroll_ctx *ctx, const unsigned char want[32], est_reply *reply)
{
    ctx->est.bootstrap = true;
    devid_rc rc = est_request_retry(&ctx->est, &ctx->retry, EST_CACERTS, NULL, 0, reply);
    ctx->est.bootstrap = false;
    if (rc == DEVID_OK && reply->outcome != EST_DONE)
        rc = enroll_reply_error(reply, "/cacerts (bootstrap)");
    X509 *anchor = rc == DEVID_OK ? find_fingerprint(reply->certs, want) : NULL;
    if (rc == DEVID_OK && !anchor)
        rc = devid_fail(DEVID_ERR_AUTH, "no CA certificate from the server matches the "
                                        "configured fingerprint: refusing to trust it");
    BIO *pem = rc == DEVID_OK ? BIO_new(BIO_s_mem()) : NULL;
    char *text = NULL;
    if (rc == DEVID_OK && (!pem || PEM_write_bio_X509(pem, anchor) != 1 ||
                           BIO_write(pem, "", 1) != 1 || BIO_get_mem_data(pem, &text) <= 0))
        rc = devid_fail(DEVID_ERR_MEMORY, "trust anchor");
    est_reply_clear(reply);
    if (rc == DEVID_OK) {
        ctx->est.trust_pem = text;
        ctx->est.trust_file = NULL;
        ctx->est.system_trust = false;
        rc = est_request_retry(&ctx->est, &ctx->retry, EST_CACERTS, NULL, 0, reply);
        ctx->est.trust_pem = NULL;
        if (rc == DEVID_OK && reply->outcome != EST_DONE)
            rc = enroll_reply_error(reply, "/cacerts over TLS verified against the "
                                           "fingerprinted CA");
        if (rc == DEVID_OK && !find_fingerprint(reply->certs, want))
            rc = devid_fail(DEVID_ERR_AUTH, "the authenticated /cacerts answer lacks the "
                                            "fingerprinted CA certificate");
    }
    BIO_free(pem);
    return rc;
}

/* One certificate in PEM (no --out: the certificates travel in the JSON document). */
static void json_pem(json_writer *w, X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *text = NULL;
    if (bio && PEM_write_bio_X509(bio, cert) == 1 && BIO_write(bio, "", 1) == 1 &&
        BIO_get_mem_data(bio, &text) > 0)
        json_string(w, "pem", text);
    else
        json_string(w, "pem", NULL);
    BIO_free(bio);
}

static void cacerts_json(X509 *first, STACK_OF(X509) *rest, const char *out, bool bootstrap)
{
    json_writer w;
    json_begin_command(&w, "cacerts");
    json_int(&w, "count", 1 + sk_X509_num(rest));
    json_string(&w, "out", out);
    json_bool(&w, "bootstrap", bootstrap);
    json_begin_array(&w, "certificates");
    for (int i = -1; i < sk_X509_num(rest); i++) {
        X509 *c = i < 0 ? first : sk_X509_value(rest, i);
        json_begin_object(&w, NULL);
        json_cert_fields(&w, c);
        if (!out)
            json_pem(&w, c);
        json_end_object(&w);
    }
    json_end_array(&w);
    json_end_command(&w, EXIT_HEALTHY);
}

int cmd_cacerts(const enroll_options *opt, int argc, char **argv)
{
    factory_args a;
    int ec = parse_args("cacerts", argc, argv, &a);
    if (ec != EXIT_HEALTHY)
        return ec;
    enroll_ctx ctx;
    devid_rc rc = enroll_ctx_init(&ctx, opt);
    const char *fp = a.fingerprint ? a.fingerprint : ctx.conf ? ctx.conf->est.fingerprint : NULL;
    unsigned char want[32];
    if (rc == DEVID_OK && fp && !enroll_parse_fingerprint(fp, want))
        rc = devid_fail(DEVID_ERR_CONFIG, "fingerprint must be 32 bytes of hex (SHA-256)");
    est_reply reply = { 0 };
    if (rc == DEVID_OK && fp) {
        rc = bootstrap(&ctx, want, &reply);
    } else if (rc == DEVID_OK) {
        rc = est_request_retry(&ctx.est, &ctx.retry, EST_CACERTS, NULL, 0, &reply);
        if (rc == DEVID_OK && reply.outcome != EST_DONE)
            rc = enroll_reply_error(&reply, "/cacerts");
    }
    if (rc == DEVID_OK) {
        X509 *first = sk_X509_shift(reply.certs);
        rc = a.out ? enroll_write_chain(a.out, first, reply.certs) : DEVID_OK;
        if (!a.out && !opt->json) {
            PEM_write_X509(stdout, first);
            for (int i = 0; i < sk_X509_num(reply.certs); i++)
                PEM_write_X509(stdout, sk_X509_value(reply.certs, i));
        }
        if (rc == DEVID_OK && opt->json)
            cacerts_json(first, reply.certs, a.out, fp != NULL);
        X509_free(first);
    }
    est_reply_clear(&reply);
    enroll_ctx_free(&ctx);
    return rc == DEVID_OK ? EXIT_HEALTHY : command_failed("cacerts", rc);
}

/* An identity is done when its key and certificate match and chain to the trust anchors.
 * *cert (optional) gets its certificate then. */
static bool identity_valid(devid_map_id id, X509 **cert)
{
    devid_identity *ident = NULL;
    if (devid_identity_load(id, &ident) != DEVID_OK)
        return false;
    char detail[256];
    bool ok = ident->key && ident->cert &&
              devid_identity_verify(ident, detail, sizeof(detail)) == DEVID_CHAIN_VALID;
    if (ok && cert && X509_up_ref(ident->cert) == 1)
        *cert = ident->cert;
    devid_identity_free(ident);
    devid_clear_error();
    return ok;
}

/* What idevid / ldevid did, for --json: the identity, its key (made now or found), its
 * certificate and where it is stored. */
typedef struct {
    const char *identity; /* "IDevID" / "LDevID" */
    const devid_map_entry *entry;
    bool already; /* valid before: nothing done */
    bool key_created;
    const char *iak;        /* idevid: "created" / "reused" / "none"; ldevid: NULL */
    bool attested;          /* idevid: issued on the EK-attested exchange */
    const char *chain_file; /* where the certificate and its CA chain were written */
} factory_result;

static void factory_json(const char *cmd, const factory_result *r, X509 *cert)
{
    json_writer w;
    char hex[16];
    json_begin_command(&w, cmd);
    json_string(&w, "identity", r->identity);
    json_bool(&w, "already_provisioned", r->already);
    snprintf(hex, sizeof(hex), "0x%08x", r->entry->key_handle);
    json_string(&w, "key_handle", hex);
    json_bool(&w, "key_created", r->key_created);
    if (r->iak) {
        json_string(&w, "iak", r->iak);
        json_bool(&w, "attested", r->attested);
    }
    if (cert)
        json_cert_fields(&w, cert);
    json_begin_object(&w, "stored");
    if (r->entry->cert_source == DEVID_CERT_NV) {
        snprintf(hex, sizeof(hex), "0x%08x", r->entry->cert_nv);
        json_string(&w, "nv_index", hex);
    } else {
        json_string(&w, "file", r->entry->cert_file);
    }
    json_end_object(&w);
    json_string(&w, "chain_file", r->chain_file);
    json_end_command(&w, EXIT_HEALTHY);
}

/* Whether the directory that will hold `path` exists and is writable by us. */
static devid_rc check_writable_dir(const char *what, const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (access(dir, W_OK) != 0)
        return devid_fail(DEVID_ERR_CONFIG, "%s %s: directory %s: %s", what, path, dir,
                          strerror(errno));
    return DEVID_OK;
}

/* Everything a factory or owner step can check without the TPM, checked before it writes
 * anything there (a key is made persistent only after this): the server URL, the trust anchors
 * the server and the issued certificate are checked against, and where the result goes.
 * (Credentials were read by enroll_ctx_init.) */
static devid_rc preflight(const enroll_ctx *ctx, const char *out)
{
    if (!ctx->est.server || strncmp(ctx->est.server, "https://", 8) != 0)
        return devid_fail(DEVID_ERR_CONFIG, "est.server (or --server) must be an https:// URL");
    const char *trust = ctx->est.trust_file;
    if (!trust)
        return devid_fail(DEVID_ERR_CONFIG,
                          "no trust anchor for the EST server and the "
                          "certificate it issues: set est.trust_anchor (or --trust)");
    X509_STORE *store = X509_STORE_new();
    bool loaded = store && X509_STORE_load_file(store, trust) == 1;
    int n = loaded ? sk_X509_OBJECT_num(X509_STORE_get0_objects(store)) : 0;
    X509_STORE_free(store);
    ERR_clear_error();
    if (n <= 0)
        return devid_fail(DEVID_ERR_CONFIG,
                          "est.trust_anchor %s: no CA certificate could be "
                          "read from it (a PEM file of CA certificates)",
                          trust);
    return out ? check_writable_dir("output", out) : DEVID_OK;
}

/* The key at entry's handle, made if absent. A run that fails after making it (the server
 * unreachable, the enrollment refused) leaves the key there: the next run enrolls that key
 * rather than making another (docs/factory.md). */
static devid_rc ensure_key(const enroll_ctx *ctx, const devid_map_entry *entry,
                           devid_hierarchy hier, bool rsa, EVP_PKEY **pkey, bool *created)
{
    devid_key *key = NULL;
    devid_rc rc = devid_key_open_persistent(entry->key_handle, &key);
    if (rc == DEVID_ERR_NOT_FOUND) {
        devid_provision_spec spec = { .handle = entry->key_handle,
                                      .hierarchy = hier,
                                      .tmpl = hier == DEVID_HIER_ENDORSEMENT
                                                  ? DEVID_TEMPLATE_IDEVID
                                                  : DEVID_TEMPLATE_PLAIN };
        enroll_key_choice(ctx, rsa, &spec.type, &spec.curve_nid, &spec.bits);
        rc = devid_provision_key(&spec, &key);
        *created = rc == DEVID_OK;
        if (rc == DEVID_OK)
            printf("%s: created key at 0x%08x (%s %d)\n", entry->label, entry->key_handle,
                   spec.type == DEVID_KEY_RSA ? "RSA" : "EC", devid_key_get_bits(key));
    }
    /* opened through the provider while core still holds it: the same TPM object reference,
     * no second TPM2_ReadPublic */
    if (rc == DEVID_OK)
        rc = enroll_key_by_handle(entry->key_handle, pkey);
    devid_key_free(key);
    return rc;
}

/* Before the CA is asked: making the LDevID key (none when it exists) needs the owner's
 * authorisation to persist it, and for the store key's SRK unless the TPM has a persistent one. */
static devid_rc ldevid_auth_ready(const devid_map_entry *entry)
{
    devid_key *key = NULL;
    devid_rc rc = devid_key_open_persistent(entry->key_handle, &key);
    devid_key_free(key);
    if (rc != DEVID_ERR_NOT_FOUND)
        return rc;
    devid_clear_error();
    return devid_hierarchy_auth_ready(DEVID_NEEDS_PERSIST | DEVID_NEEDS_STORE_KEY);
}

static void print_cert(const char *label, X509 *cert)
{
    printf("%s: certificate issued\n  subject: ", label);
    enroll_subject_print(stdout, X509_get_subject_name(cert));
    printf("\n  issuer:  ");
    enroll_subject_print(stdout, X509_get_issuer_name(cert));
    printf("\n");
}

int cmd_idevid(const enroll_options *opt, int argc, char **argv)
{
    factory_args a;
    int ec = parse_args("idevid", argc, argv, &a);
    if (ec != EXIT_HEALTHY)
        return ec;
    const devid_map_entry *entry = &devid_core_config()->map[DEVID_MAP_IDEVID];
    factory_result res = { .identity = "IDevID", .entry = entry, .chain_file = a.out };
    X509 *have = NULL;
    if (identity_valid(DEVID_MAP_IDEVID, &have)) {
        printf("IDevID: already provisioned and valid; nothing to do\n");
        res.already = true;
        res.chain_file = NULL;
        if (opt->json)
            factory_json("idevid", &res, have);
        X509_free(have);
        return EXIT_HEALTHY;
    }
    if (!a.subject) {
        return usage_failed("idevid", "--subject is required (e.g. "
                                      "'O=Maker,OU=Model,CN=Device,serialNumber=SN123')");
    }
    if (entry->cert_source != DEVID_CERT_NV || !entry->key_handle) {
        return usage_failed("idevid", "the IDevID map entry needs a key handle and an NV "
                                      "certificate index");
    }
    enroll_ctx ctx;
    X509_NAME *subject = NULL;
    EVP_PKEY *pkey = NULL;
    X509 *leaf = NULL;
    STACK_OF(X509) *chain = NULL;
    devid_rc rc = enroll_ctx_init(&ctx, opt);
    if (rc == DEVID_OK)
        rc = preflight(&ctx, a.out);
    bool attested = ctx.conf && ctx.conf->est.factory_mode &&
                    strcmp(ctx.conf->est.factory_mode, "attested") == 0;
    if (rc == DEVID_OK && attested)
        rc = factory_record_check();
    if (rc == DEVID_OK)
        rc = enroll_parse_subject(a.subject, &subject);
    if (rc == DEVID_OK) {
        enroll_fetch_wishes(&ctx);
        rc = ensure_key(&ctx, entry, DEVID_HIER_ENDORSEMENT, a.rsa, &pkey, &res.key_created);
    }
    if (rc == DEVID_OK && attested && !devid_core_config()->map[DEVID_MAP_IAK].key_handle)
        rc = devid_fail(DEVID_ERR_CONFIG, "est.factory_mode = attested needs the IAK, which "
                                          "the configuration disables");
    devid_key *iak = NULL; /* held until the attested exchange has opened it too */
    if (rc == DEVID_OK)
        rc = factory_ensure_iak(pkey, &res.iak, &iak);
    res.attested = attested;
    /* a hierarchy auth value the rest needs but nobody configured: said before the CA issues */
    if (rc == DEVID_OK)
        rc = devid_hierarchy_auth_ready(DEVID_NEEDS_CERT_NV |
                                        (attested ? DEVID_NEEDS_ACTIVATE : 0));
    if (rc == DEVID_OK && attested)
        rc = factory_attested_enroll(&ctx, pkey, subject, &leaf, &chain);
    else if (rc == DEVID_OK)
        rc = enroll_get_cert(&ctx, EST_SIMPLEENROLL, pkey, NULL, subject, NULL, &leaf, &chain);
    if (rc == DEVID_OK) {
        unsigned char *der = NULL;
        int len = i2d_X509(leaf, &der);
        rc = len > 0 ? devid_nv_write_cert(entry->cert_nv, der, (size_t)len, true)
                     : devid_fail(DEVID_ERR_INTERNAL, "encoding the certificate");
        OPENSSL_free(der);
    }
    if (rc == DEVID_OK && a.out)
        rc = enroll_write_chain(a.out, leaf, chain);
    if (rc == DEVID_OK) {
        print_cert("IDevID", leaf);
        printf("  stored:  NV 0x%08x\n", entry->cert_nv);
        if (opt->json)
            factory_json("idevid", &res, leaf);
    }
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(pkey);
    devid_key_free(iak);
    X509_NAME_free(subject);
    enroll_ctx_free(&ctx);
    return rc == DEVID_OK ? EXIT_HEALTHY : command_failed("idevid", rc);
}

int cmd_ldevid(const enroll_options *opt, int argc, char **argv)
{
    factory_args a;
    int ec = parse_args("ldevid", argc, argv, &a);
    if (ec != EXIT_HEALTHY)
        return ec;
    const devid_config *cfg = devid_core_config();
    const devid_map_entry *entry = &cfg->map[DEVID_MAP_LDEVID];
    factory_result res = { .identity = "LDevID", .entry = entry, .chain_file = entry->cert_file };
    X509 *have = NULL;
    if (identity_valid(DEVID_MAP_LDEVID, &have)) {
        printf("LDevID: already provisioned and valid; nothing to do (renewal: devid-enroll "
               "renew)\n");
        res.already = true;
        if (opt->json)
            factory_json("ldevid", &res, have);
        X509_free(have);
        return EXIT_HEALTHY;
    }
    if (entry->cert_source != DEVID_CERT_FILE || !entry->key_handle) {
        return usage_failed("ldevid", "the LDevID map entry needs a key handle and a "
                                      "certificate file");
    }
    enroll_ctx ctx;
    devid_identity *idevid = NULL;
    X509_NAME *subject = NULL;
    EVP_PKEY *auth_key = NULL, *pkey = NULL;
    X509 *leaf = NULL;
    STACK_OF(X509) *chain = NULL;
    devid_rc rc = enroll_ctx_init(&ctx, opt);
    if (rc == DEVID_OK)
        rc = preflight(&ctx, NULL);
    if (rc == DEVID_OK)
        rc = devid_store_ensure_dir(); /* (ldevid.cert = store: the chain goes there) */
    if (rc == DEVID_OK)
        rc = check_writable_dir("ldevid.cert", entry->cert_file);
    if (rc == DEVID_OK) {
        rc = devid_identity_load(DEVID_MAP_IDEVID, &idevid);
        if (rc == DEVID_OK && (!idevid->key || !idevid->cert))
            rc = DEVID_ERR_NOT_FOUND;
        if (rc == DEVID_ERR_NOT_FOUND)
            rc = devid_fail(rc, "no IDevID (key and certificate) to authenticate with: run "
                                "devid-enroll idevid first");
    }
    if (rc == DEVID_OK)
        rc = enroll_key_by_handle(idevid->entry->key_handle, &auth_key);
    if (rc == DEVID_OK) {
        enroll_ctx_use_tls_identity(&ctx, auth_key, idevid->cert, idevid->chain);
        if (a.subject)
            rc = enroll_parse_subject(a.subject, &subject);
        else
            subject = X509_NAME_dup(X509_get_subject_name(idevid->cert));
    }
    if (rc == DEVID_OK)
        rc = ldevid_auth_ready(entry);
    if (rc == DEVID_OK) {
        enroll_fetch_wishes(&ctx);
        rc = ensure_key(&ctx, entry, DEVID_HIER_OWNER, a.rsa, &pkey, &res.key_created);
    }
    enroll_key_ref ldevid_key = { .handle = entry->key_handle }; /* (attested: csr_attest.h) */
    if (rc == DEVID_OK)
        rc = enroll_get_cert(&ctx, EST_SIMPLEENROLL, pkey, &ldevid_key, subject, NULL, &leaf,
                             &chain);
    if (rc == DEVID_OK)
        rc = devid_store_ensure_dir();
    if (rc == DEVID_OK)
        rc = enroll_write_chain(entry->cert_file, leaf, chain);
    if (rc == DEVID_OK) {
        print_cert("LDevID", leaf);
        printf("  stored:  %s\n", entry->cert_file);
        if (opt->json)
            factory_json("ldevid", &res, leaf);
    }
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(pkey);
    EVP_PKEY_free(auth_key);
    X509_NAME_free(subject);
    devid_identity_free(idevid);
    enroll_ctx_free(&ctx);
    return rc == DEVID_OK ? EXIT_HEALTHY : command_failed("ldevid", rc);
}
