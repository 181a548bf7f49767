/* The factory and owner steps: trust bootstrap (cacerts), the IDevID (factory station, HTTP
 * Basic and/or a header secret) and the LDevID (authenticated with the IDevID). Each is
 * idempotent: an identity that is already valid is left alone. */
#include "commands.h"
#include "context.h"
#include "fsutil.h"
#include "subject.h"
#include "tpmkey.h"

#include "devid.h"

#include <getopt.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        case 's': a->subject = optarg; break;
        case 'o': a->out = optarg; break;
        case 'f': a->fingerprint = optarg; break;
        case 'r': a->rsa = true; break;
        default:
            fprintf(stderr, "devid-enroll %s: bad option (see devid-enroll --help)\n", cmd);
            return EXIT_USAGE;
        }
    }
    if (optind < argc + 1) {
        fprintf(stderr, "devid-enroll %s: unexpected argument '%s'\n", cmd, argv[optind - 1]);
        return EXIT_USAGE;
    }
    return EXIT_HEALTHY;
}

/* "AB:CD:..." or "abcd..." → 32 bytes */
static bool parse_fingerprint(const char *text, unsigned char out[32])
{
    size_t n = 0;
    for (const char *p = text; *p; p++) {
        if (*p == ':')
            continue;
        int v;
        if (n >= 64 || sscanf(p, "%1x", (unsigned *)&v) != 1)
            return false;
        if (n % 2 == 0)
            out[n / 2] = (unsigned char)(v << 4);
        else
            out[n / 2] |= (unsigned char)v;
        n++;
    }
    return n == 64;
}

int cmd_cacerts(const enroll_options *opt, int argc, char **argv)
{
    factory_args a;
    int ec = parse_args("cacerts", argc, argv, &a);
    if (ec != EXIT_HEALTHY)
        return ec;
    enroll_ctx ctx;
    devid_rc rc = enroll_ctx_init(&ctx, opt);
    const char *fp = a.fingerprint ? a.fingerprint : ctx.cfg->est.fingerprint;
    unsigned char want[32];
    if (rc == DEVID_OK && fp && !parse_fingerprint(fp, want))
        rc = devid_fail(DEVID_ERR_CONFIG, "fingerprint must be 32 bytes of hex (SHA-256)");
    if (rc == DEVID_OK && fp)
        ctx.est.bootstrap = true; /* unauthenticated TLS; the answer is checked below */
    est_reply reply = { 0 };
    if (rc == DEVID_OK)
        rc = est_request_retry(&ctx.est, &ctx.retry, EST_CACERTS, NULL, 0, &reply);
    if (rc == DEVID_OK && reply.outcome != EST_DONE)
        rc = enroll_reply_error(&reply, "/cacerts");
    if (rc == DEVID_OK && fp) {
        bool found = false;
        for (int i = 0; i < sk_X509_num(reply.certs) && !found; i++) {
            unsigned char md[32];
            unsigned int mdlen = 0;
            found = X509_digest(sk_X509_value(reply.certs, i), EVP_sha256(), md, &mdlen) == 1 &&
                    mdlen == 32 && memcmp(md, want, 32) == 0;
        }
        if (!found)
            rc = devid_fail(DEVID_ERR_AUTH, "no CA certificate from the server matches the "
                            "configured fingerprint: refusing to trust it");
    }
    if (rc == DEVID_OK) {
        X509 *first = sk_X509_shift(reply.certs);
        rc = a.out ? enroll_write_chain(a.out, first, reply.certs) : DEVID_OK;
        if (!a.out) {
            PEM_write_X509(stdout, first);
            for (int i = 0; i < sk_X509_num(reply.certs); i++)
                PEM_write_X509(stdout, sk_X509_value(reply.certs, i));
        }
        X509_free(first);
    }
    est_reply_clear(&reply);
    enroll_ctx_free(&ctx);
    return rc == DEVID_OK ? EXIT_HEALTHY : command_failed("cacerts", rc);
}

/* An identity is done when its key and certificate match and chain to the trust anchors. */
static bool identity_valid(devid_map_id id)
{
    devid_identity *ident = NULL;
    if (devid_identity_load(id, &ident) != DEVID_OK)
        return false;
    char detail[256];
    bool ok = ident->key && ident->cert &&
              devid_identity_verify(ident, detail, sizeof(detail)) == DEVID_CHAIN_VALID;
    devid_identity_free(ident);
    devid_clear_error();
    return ok;
}

/* The key at entry's handle, made if absent. */
static devid_rc ensure_key(const enroll_ctx *ctx, const devid_map_entry *entry,
                           devid_hierarchy hier, bool rsa, EVP_PKEY **pkey)
{
    devid_key *key = NULL;
    devid_rc rc = devid_key_open_persistent(entry->key_handle, &key);
    if (rc == DEVID_ERR_NOT_FOUND) {
        devid_provision_spec spec = { .handle = entry->key_handle, .hierarchy = hier };
        enroll_key_choice(ctx, rsa, &spec.type, &spec.curve_nid, &spec.bits);
        rc = devid_provision_key(&spec, &key);
        if (rc == DEVID_OK)
            printf("%s: created key at 0x%08x (%s %d)\n", entry->label, entry->key_handle,
                   spec.type == DEVID_KEY_RSA ? "RSA" : "EC", devid_key_get_bits(key));
    }
    devid_key_free(key);
    return rc == DEVID_OK ? enroll_key_by_handle(entry->key_handle, pkey) : rc;
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
    if (identity_valid(DEVID_MAP_IDEVID)) {
        printf("IDevID: already provisioned and valid; nothing to do\n");
        return EXIT_HEALTHY;
    }
    if (!a.subject) {
        fprintf(stderr, "devid-enroll idevid: --subject is required (e.g. "
                        "'O=Maker,OU=Model,CN=Device,serialNumber=SN123')\n");
        return EXIT_USAGE;
    }
    if (entry->cert_source != DEVID_CERT_NV || !entry->key_handle) {
        fprintf(stderr, "devid-enroll idevid: the IDevID map entry needs a key handle and an "
                        "NV certificate index\n");
        return EXIT_USAGE;
    }
    enroll_ctx ctx;
    X509_NAME *subject = NULL;
    EVP_PKEY *pkey = NULL;
    X509 *leaf = NULL;
    STACK_OF(X509) *chain = NULL;
    devid_rc rc = enroll_ctx_init(&ctx, opt);
    if (rc == DEVID_OK)
        rc = enroll_parse_subject(a.subject, &subject);
    if (rc == DEVID_OK) {
        enroll_fetch_wishes(&ctx);
        rc = ensure_key(&ctx, entry, DEVID_HIER_ENDORSEMENT, a.rsa, &pkey);
    }
    if (rc == DEVID_OK)
        rc = enroll_get_cert(&ctx, EST_SIMPLEENROLL, pkey, subject, NULL, &leaf, &chain);
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
    }
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(pkey);
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
    if (identity_valid(DEVID_MAP_LDEVID)) {
        printf("LDevID: already provisioned and valid; nothing to do (renewal: devid-enroll "
               "renew)\n");
        return EXIT_HEALTHY;
    }
    if (entry->cert_source != DEVID_CERT_FILE || !entry->key_handle) {
        fprintf(stderr, "devid-enroll ldevid: the LDevID map entry needs a key handle and a "
                        "certificate file\n");
        return EXIT_USAGE;
    }
    enroll_ctx ctx;
    devid_identity *idevid = NULL;
    X509_NAME *subject = NULL;
    EVP_PKEY *auth_key = NULL, *pkey = NULL;
    X509 *leaf = NULL;
    STACK_OF(X509) *chain = NULL;
    devid_rc rc = enroll_ctx_init(&ctx, opt);
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
    if (rc == DEVID_OK) {
        enroll_fetch_wishes(&ctx);
        rc = ensure_key(&ctx, entry, DEVID_HIER_OWNER, a.rsa, &pkey);
    }
    if (rc == DEVID_OK)
        rc = enroll_get_cert(&ctx, EST_SIMPLEENROLL, pkey, subject, NULL, &leaf, &chain);
    if (rc == DEVID_OK)
        rc = devid_ensure_dir(cfg->store, 0700);
    if (rc == DEVID_OK)
        rc = enroll_write_chain(entry->cert_file, leaf, chain);
    if (rc == DEVID_OK) {
        print_cert("LDevID", leaf);
        printf("  stored:  %s\n", entry->cert_file);
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
