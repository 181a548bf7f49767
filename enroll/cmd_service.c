/* Operational certificates and the device's life after the factory: enroll a service
 * identity (a store key, authenticated with the LDevID), renew whatever is due (optionally
 * with a new key), keep doing so as a daemon, and retire the owner's identities.
 *
 * Rotation never loses an identity: a new key and certificate are written as a pending store
 * object first; only when the pair is complete and verified does it replace the old one, and
 * a run that finds a pending object (after a crash) finishes or discards it. */
#include "commands.h"
#include "context.h"
#include "fsutil.h"
#include "renewal.h"
#include "tpmkey.h"

#include "devid.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PENDING DEVID_ROTATION_SUFFIX

/* Fault injection for the crash tests: DEVID_ENROLL_CRASH_AT=<point> makes the process die by
 * SIGKILL at that point of a rotation, as a power cut would. */
static void crash_point(const char *point)
{
    const char *at = getenv("DEVID_ENROLL_CRASH_AT");
    if (at && strcmp(at, point) == 0) {
        fflush(NULL);
        raise(SIGKILL);
    }
}

static bool valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64 || strcmp(name, "LDevID") == 0 || strcmp(name, "IDevID") == 0)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
            return false;
    return !strstr(name, PENDING) && name[0] != '.';
}

static devid_rc recover_pending(void);

static void chain_path(const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s-chain.pem", devid_core_config()->store, name);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Finds the store group labelled `label`. */
static devid_rc find_group(const char *label, devid_store_entry *out)
{
    devid_store_entry *e = NULL;
    size_t n = 0;
    devid_rc rc = devid_store_list(&e, &n);
    if (rc != DEVID_OK)
        return rc;
    rc = DEVID_ERR_NOT_FOUND;
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].attrs.label, label) == 0) {
            *out = e[i];
            rc = DEVID_OK;
            break;
        }
    free(e);
    return rc;
}

/* A new store key labelled `label`, with CKA_ID = its public key id; opened as EVP_PKEY. */
static devid_rc new_store_key(const enroll_ctx *ctx, const char *label, bool rsa,
                              char uid[DEVID_UID_LEN + 1], EVP_PKEY **pkey)
{
    devid_keygen p = { .sign = true };
    enroll_key_choice(ctx, rsa, &p.type, &p.curve_nid, &p.bits);
    p.decrypt = p.type == DEVID_KEY_RSA;
    devid_store_attrs attrs = { 0 };
    snprintf(attrs.label, sizeof(attrs.label), "%s", label);
    devid_rc rc = devid_store_generate(&p, &attrs, uid);
    devid_key *key = NULL;
    if (rc == DEVID_OK)
        rc = devid_store_get_attrs(uid, &attrs); /* as core wrote them (token_bound) */
    if (rc == DEVID_OK)
        rc = devid_store_open_key(uid, &key);
    if (rc == DEVID_OK && (rc = devid_pubkey_id(devid_key_get_public(key), attrs.id)) == DEVID_OK) {
        attrs.id_len = 20;
        rc = devid_store_set_attrs(uid, &attrs);
    }
    devid_key_free(key);
    if (rc == DEVID_OK)
        rc = enroll_key_by_id(attrs.id, attrs.id_len, pkey);
    if (rc != DEVID_OK && uid[0])
        devid_store_delete(uid, DEVID_STORE_KEY | DEVID_STORE_CERT);
    return rc;
}

static devid_rc open_group_key(const devid_store_entry *g, EVP_PKEY **pkey)
{
    return enroll_key_by_id(g->attrs.id, g->attrs.id_len, pkey);
}

static void run_hook(const char *name)
{
    const char *hook = devid_core_config()->renew.hook;
    if (!hook)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        setenv("DEVID_RENEWED", name, 1);
        execl("/bin/sh", "sh", "-c", hook, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid > 0)
        waitpid(pid, &st, 0);
    if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fprintf(stderr, "devid-enroll: renewal hook for %s failed\n", name);
}

/* ---- enroll NAME ---- */

typedef struct {
    bool rsa, rekey, force;
    const char *subject;
    long interval;
} service_args;

static int parse_args(const char *cmd, int *argc, char ***argv, service_args *a)
{
    static const struct option longopts[] = {
        { "rsa", no_argument, NULL, 'r' },       { "rekey", no_argument, NULL, 'k' },
        { "force", no_argument, NULL, 'f' },     { "subject", required_argument, NULL, 's' },
        { "interval", required_argument, NULL, 'i' }, { NULL, 0, NULL, 0 },
    };
    memset(a, 0, sizeof(*a));
    a->interval = 3600;
    optind = 0;
    int c;
    while ((c = getopt_long(*argc + 1, *argv - 1, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': a->rsa = true; break;
        case 'k': a->rekey = true; break;
        case 'f': a->force = true; break;
        case 's': a->subject = optarg; break;
        case 'i': a->interval = strtol(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "devid-enroll %s: bad option (see devid-enroll --help)\n", cmd);
            return EXIT_USAGE;
        }
    }
    *argv += optind - 1;
    *argc -= optind - 1;
    if (a->interval < 1) {
        fprintf(stderr, "devid-enroll %s: --interval must be a positive number of seconds\n", cmd);
        return EXIT_USAGE;
    }
    return EXIT_HEALTHY;
}

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

int cmd_enroll(const enroll_options *opt, int argc, char **argv)
{
    service_args a;
    int ec = parse_args("enroll", &argc, &argv, &a);
    if (ec != EXIT_HEALTHY)
        return ec;
    if (argc != 1 || !valid_name(argv[0])) {
        fprintf(stderr, "devid-enroll enroll: expected one NAME of letters, digits, '-', '_', "
                        "'.' (not IDevID/LDevID)\n");
        return EXIT_USAGE;
    }
    const char *name = argv[0];
    devid_rc rec = recover_pending();
    if (rec != DEVID_OK)
        return command_failed("enroll", rec);
    devid_store_entry existing;
    if (find_group(name, &existing) == DEVID_OK && existing.has_cert) {
        printf("%s: already enrolled; renewal: devid-enroll renew %s\n", name, name);
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
    if (rc == DEVID_OK) {
        enroll_fetch_wishes(&ctx);
        rc = new_store_key(&ctx, pending, a.rsa, uid, &pkey);
    }
    if (rc == DEVID_OK)
        rc = enroll_get_cert(&ctx, EST_SIMPLEENROLL, pkey, subject, NULL, &leaf, &chain);
    if (rc == DEVID_OK)
        rc = devid_store_put_cert(uid, leaf, NULL, NULL);
    if (rc == DEVID_OK) {
        chain_path(name, path, sizeof(path));
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
    if (rc == DEVID_OK)
        printf("%s: enrolled; key in the store (devid:object=%s), chain in %s\n", name, name,
               path);
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(pkey);
    EVP_PKEY_free(auth);
    X509_NAME_free(subject);
    devid_identity_free(ldevid);
    enroll_ctx_free(&ctx);
    return rc == DEVID_OK ? EXIT_HEALTHY : command_failed("enroll", rc);
}

/* ---- renewal ---- */

static double random01(void)
{
    unsigned int r = 0;
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        r = (unsigned int)getpid();
    return (double)r / 4294967296.0;
}

/* The jitter of a certificate's renewal is drawn once: from its own bytes, so every pass (and
 * every restart) agrees on its due time while certificates across a fleet spread evenly. */
static double jitter_of(const X509 *cert)
{
    unsigned char md[32];
    unsigned int n = 0;
    if (X509_digest(cert, EVP_sha256(), md, &n) != 1 || n < 4)
        return random01();
    uint32_t v = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
    return (double)v / 4294967296.0;
}

static bool is_due(const X509 *cert, bool force, time_t *due)
{
    const devid_renew_config *rc = &devid_core_config()->renew;
    *due = renewal_due(cert, rc->threshold, rc->jitter, jitter_of(cert));
    return force || *due == (time_t)-1 || time(NULL) >= *due;
}

/* Makes the chain file at path lead with cert: unchanged if it already does, else cert
 * followed by the CA certificates the file had (a rotation keeps its CA). */
static devid_rc ensure_chain_leaf(const char *path, X509 *cert)
{
    X509 *leaf = NULL;
    STACK_OF(X509) *cas = NULL;
    devid_rc rc = devid_cert_read_pem(path, &leaf, &cas);
    if (rc == DEVID_OK && X509_cmp(leaf, cert) == 0) {
        X509_free(leaf);
        sk_X509_pop_free(cas, X509_free);
        return DEVID_OK;
    }
    devid_clear_error();
    rc = enroll_write_chain(path, cert, cas);
    X509_free(leaf);
    sk_X509_pop_free(cas, X509_free);
    return rc;
}

/* After a crash between relabelling and deleting, two groups carry one name: keep the one the
 * chain file names (the newer), remove the other. */
static devid_rc drop_duplicates(const devid_store_entry *e, size_t n)
{
    devid_rc rc = DEVID_OK;
    for (size_t i = 0; rc == DEVID_OK && i < n; i++) {
        for (size_t j = i + 1; rc == DEVID_OK && j < n; j++) {
            if (strcmp(e[i].attrs.label, e[j].attrs.label) != 0 || !valid_name(e[i].attrs.label))
                continue;
            char path[4096];
            chain_path(e[i].attrs.label, path, sizeof(path));
            X509 *leaf = NULL, *ci = NULL;
            if (devid_cert_read_pem(path, &leaf, NULL) != DEVID_OK)
                continue;
            bool keep_i = devid_store_read_cert(e[i].uid, &ci) == DEVID_OK &&
                          X509_cmp(ci, leaf) == 0;
            fprintf(stderr, "devid-enroll: completing the interrupted rotation of %s\n",
                    e[i].attrs.label);
            rc = devid_store_delete(keep_i ? e[j].uid : e[i].uid,
                                    DEVID_STORE_KEY | DEVID_STORE_CERT);
            X509_free(ci);
            X509_free(leaf);
        }
    }
    return rc;
}

/* Finishes or discards what a crashed rotation left: pending groups with a certificate
 * replace their target, those without are removed. */
static devid_rc recover_pending(void)
{
    devid_store_entry *e = NULL;
    size_t n = 0;
    devid_rc rc = devid_store_list(&e, &n);
    for (size_t i = 0; rc == DEVID_OK && i < n; i++) {
        if (!ends_with(e[i].attrs.label, PENDING))
            continue;
        char target[DEVID_LABEL_MAX + 1], path[4096];
        snprintf(target, sizeof(target), "%.*s", (int)(strlen(e[i].attrs.label) - strlen(PENDING)),
                 e[i].attrs.label);
        if (!e[i].has_cert || !e[i].has_key) {
            fprintf(stderr, "devid-enroll: discarding the incomplete rotation of %s\n", target);
            rc = devid_store_delete(e[i].uid, DEVID_STORE_KEY | DEVID_STORE_CERT);
            continue;
        }
        fprintf(stderr, "devid-enroll: completing the interrupted rotation of %s\n", target);
        X509 *cert = NULL;
        rc = devid_store_read_cert(e[i].uid, &cert);
        if (rc == DEVID_OK && strcmp(target, "LDevID") == 0) {
            const devid_map_entry *m = &devid_core_config()->map[DEVID_MAP_LDEVID];
            devid_key *cur = NULL;
            devid_rc have = devid_key_open_persistent(m->key_handle, &cur);
            bool same = have == DEVID_OK &&
                        EVP_PKEY_eq(devid_key_get_public(cur), X509_get0_pubkey(cert)) == 1;
            devid_key_free(cur);
            devid_clear_error();
            if (have == DEVID_OK && !same)
                rc = devid_provision_remove_key(m->key_handle);
            if (rc == DEVID_OK && !same)
                rc = devid_provision_persist_store_key(e[i].uid, m->key_handle);
            if (rc == DEVID_OK)
                rc = ensure_chain_leaf(m->cert_file, cert);
            if (rc == DEVID_OK)
                rc = devid_store_delete(e[i].uid, DEVID_STORE_KEY | DEVID_STORE_CERT);
        } else if (rc == DEVID_OK) {
            devid_store_entry old;
            chain_path(target, path, sizeof(path));
            rc = ensure_chain_leaf(path, cert);
            devid_store_attrs attrs = e[i].attrs;
            snprintf(attrs.label, sizeof(attrs.label), "%s", target);
            bool had_old = find_group(target, &old) == DEVID_OK;
            if (rc == DEVID_OK)
                rc = devid_store_set_attrs(e[i].uid, &attrs);
            if (rc == DEVID_OK && had_old)
                rc = devid_store_delete(old.uid, DEVID_STORE_KEY | DEVID_STORE_CERT);
        }
        X509_free(cert);
    }
    free(e);
    if (rc != DEVID_OK)
        return rc;
    rc = devid_store_list(&e, &n);
    if (rc == DEVID_OK)
        rc = drop_duplicates(e, n);
    free(e);
    devid_clear_error();
    return rc;
}

typedef struct {
    char name[DEVID_LABEL_MAX + 1];
    bool ldevid;
    devid_store_entry group;      /* store objects */
} renewable;

/* The LDevID and every complete store identity. */
static devid_rc list_renewable(renewable **out, size_t *count)
{
    devid_store_entry *e = NULL;
    size_t n = 0;
    devid_rc rc = devid_store_list(&e, &n);
    if (rc != DEVID_OK)
        return rc;
    renewable *r = calloc(n + 1, sizeof(*r));
    if (!r) {
        free(e);
        return devid_fail(DEVID_ERR_MEMORY, "renewal list");
    }
    size_t k = 0;
    const devid_map_entry *m = &devid_core_config()->map[DEVID_MAP_LDEVID];
    if (m->key_handle && m->cert_source == DEVID_CERT_FILE && access(m->cert_file, F_OK) == 0) {
        snprintf(r[k].name, sizeof(r[k].name), "LDevID");
        r[k++].ldevid = true;
    }
    for (size_t i = 0; i < n; i++) {
        /* only identities devid-enroll made: a name it accepts and a chain file it wrote (keys
         * made through PKCS#11, e.g. by the Identity Service, are not its to renew) */
        char path[4096];
        chain_path(e[i].attrs.label, path, sizeof(path));
        if (!e[i].has_key || !e[i].has_cert || !valid_name(e[i].attrs.label) ||
            access(path, F_OK) != 0)
            continue;
        snprintf(r[k].name, sizeof(r[k].name), "%s", e[i].attrs.label);
        r[k++].group = e[i];
    }
    free(e);
    *out = r;
    *count = k;
    return DEVID_OK;
}

static devid_rc current_of(const renewable *r, EVP_PKEY **pkey, X509 **cert,
                           STACK_OF(X509) **chain)
{
    if (r->ldevid) {
        devid_identity *id = NULL;
        devid_rc rc = devid_identity_load(DEVID_MAP_LDEVID, &id);
        if (rc == DEVID_OK && (!id->key || !id->cert))
            rc = devid_fail(DEVID_ERR_NOT_FOUND, "LDevID key or certificate missing");
        if (rc == DEVID_OK)
            rc = enroll_key_by_handle(id->entry->key_handle, pkey);
        if (rc == DEVID_OK) {
            *cert = id->cert;
            *chain = id->chain;
            id->cert = NULL;
            id->chain = NULL;
        }
        devid_identity_free(id);
        return rc;
    }
    *chain = sk_X509_new_null();
    devid_rc rc = devid_store_read_cert(r->group.uid, cert);
    if (rc == DEVID_OK)
        rc = open_group_key(&r->group, pkey);
    return rc;
}

/* One renewal: same key (re-enroll) or a new one (re-key), authenticated with the current
 * certificate and key. */
static devid_rc renew_one(enroll_ctx *ctx, const renewable *r, bool rekey)
{
    EVP_PKEY *cur_key = NULL, *new_key = NULL;
    X509 *cur = NULL, *leaf = NULL;
    STACK_OF(X509) *cur_chain = NULL, *chain = NULL;
    char uid[DEVID_UID_LEN + 1] = "", pending[DEVID_LABEL_MAX + 16], path[4096];
    devid_rc rc = current_of(r, &cur_key, &cur, &cur_chain);
    if (rc == DEVID_OK)
        enroll_ctx_use_tls_identity(ctx, cur_key, cur, cur_chain);
    if (rc == DEVID_OK && rekey) {
        snprintf(pending, sizeof(pending), "%s%s", r->name, PENDING);
        enroll_fetch_wishes(ctx);
        rc = new_store_key(ctx, pending, EVP_PKEY_is_a(cur_key, "RSA"), uid, &new_key);
    }
    if (rc == DEVID_OK)
        crash_point("pending-key");
    if (rc == DEVID_OK)
        rc = enroll_get_cert(ctx, EST_SIMPLEREENROLL, rekey ? new_key : cur_key, NULL, cur,
                             &leaf, &chain);
    const devid_map_entry *m = &devid_core_config()->map[DEVID_MAP_LDEVID];
    if (rc == DEVID_OK && rekey) {
        rc = devid_store_put_cert(uid, leaf, NULL, NULL); /* the pending pair is complete */
        if (rc == DEVID_OK)
            crash_point("pending-cert");
        if (rc == DEVID_OK && r->ldevid) {
            EVP_PKEY_free(cur_key); /* the provider's handle on the old key */
            cur_key = NULL;
            ctx->est.tls_key = NULL;
            rc = devid_provision_remove_key(m->key_handle);
            if (rc == DEVID_OK)
                crash_point("old-key-removed");
            if (rc == DEVID_OK)
                rc = devid_provision_persist_store_key(uid, m->key_handle);
            if (rc == DEVID_OK)
                crash_point("new-key-persisted");
            if (rc == DEVID_OK)
                rc = enroll_write_chain(m->cert_file, leaf, chain);
            if (rc == DEVID_OK)
                crash_point("chain-written");
            if (rc == DEVID_OK)
                rc = devid_store_delete(uid, DEVID_STORE_KEY | DEVID_STORE_CERT);
        } else if (rc == DEVID_OK) {
            chain_path(r->name, path, sizeof(path));
            rc = enroll_write_chain(path, leaf, chain);
            if (rc == DEVID_OK)
                crash_point("chain-written");
            devid_store_attrs attrs;
            if (rc == DEVID_OK)
                rc = devid_store_get_attrs(uid, &attrs);
            snprintf(attrs.label, sizeof(attrs.label), "%s", r->name);
            if (rc == DEVID_OK) /* two groups named NAME for a moment: never none */
                rc = devid_store_set_attrs(uid, &attrs);
            if (rc == DEVID_OK)
                crash_point("relabelled");
            if (rc == DEVID_OK)
                rc = devid_store_delete(r->group.uid, DEVID_STORE_KEY | DEVID_STORE_CERT);
        }
    } else if (rc == DEVID_OK) {
        crash_point("reenrolled");
        if (r->ldevid) {
            rc = enroll_write_chain(m->cert_file, leaf, chain);
        } else {
            rc = devid_store_put_cert(r->group.uid, leaf, NULL, NULL);
            chain_path(r->name, path, sizeof(path));
            if (rc == DEVID_OK)
                rc = enroll_write_chain(path, leaf, chain);
        }
    } else if (uid[0]) {
        devid_store_delete(uid, DEVID_STORE_KEY | DEVID_STORE_CERT); /* old pair untouched */
    }
    X509_free(cur);
    X509_free(leaf);
    sk_X509_pop_free(cur_chain, X509_free);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(cur_key);
    EVP_PKEY_free(new_key);
    return rc;
}

/* One pass over everything renewable. *next gets the earliest future due time. */
static int renew_pass(const enroll_options *opt, const service_args *a, int argc, char **argv,
                      time_t *next)
{
    enroll_ctx ctx;
    devid_rc rc = enroll_ctx_init(&ctx, opt);
    renewable *list = NULL;
    size_t n = 0;
    if (rc == DEVID_OK)
        rc = recover_pending();
    if (rc == DEVID_OK)
        rc = list_renewable(&list, &n);
    if (rc != DEVID_OK) {
        enroll_ctx_free(&ctx);
        return command_failed("renew", rc);
    }
    int result = EXIT_HEALTHY, matched = 0;
    *next = 0;
    for (size_t i = 0; i < n; i++) {
        bool named = argc == 0;
        for (int j = 0; j < argc; j++)
            named |= strcmp(argv[j], list[i].name) == 0;
        if (!named)
            continue;
        matched++;
        EVP_PKEY *k = NULL;
        X509 *cert = NULL;
        STACK_OF(X509) *ch = NULL;
        time_t due = 0;
        devid_rc crc = current_of(&list[i], &k, &cert, &ch);
        bool due_now = crc == DEVID_OK && is_due(cert, a->force, &due);
        EVP_PKEY_free(k);
        X509_free(cert);
        sk_X509_pop_free(ch, X509_free);
        if (crc != DEVID_OK) {
            fprintf(stderr, "devid-enroll renew: %s: %s\n", list[i].name, devid_last_error());
            result = exit_code_for(crc);
            continue;
        }
        if (!due_now) {
            printf("%s: not due until %s", list[i].name, ctime(&due));
            if (!*next || due < *next)
                *next = due;
            continue;
        }
        devid_rc rrc = renew_one(&ctx, &list[i], a->rekey);
        if (rrc == DEVID_OK) {
            printf("%s: renewed%s\n", list[i].name, a->rekey ? " with a new key" : "");
            run_hook(list[i].name);
        } else {
            /* A failure after the new pair was stored (e.g. the TPM lost between evicting
             * the old LDevID and persisting the new one) leaves the rotation half done, the
             * pending pair being the identity: say so rather than "unchanged". */
            char detail[512], pending[DEVID_LABEL_MAX + 16];
            snprintf(detail, sizeof(detail), "%s", devid_last_error());
            snprintf(pending, sizeof(pending), "%s%s", list[i].name, PENDING);
            devid_store_entry g;
            bool half_done = find_group(pending, &g) == DEVID_OK && g.has_key && g.has_cert;
            fprintf(stderr, "devid-enroll renew: %s: %s (%s)\n", list[i].name, detail,
                    half_done ? "the re-key is in progress: the new key and certificate are "
                                "kept, the next devid-enroll run completes it"
                              : "the current identity is unchanged");
            result = exit_code_for(rrc);
        }
    }
    if (argc > 0 && matched < argc) {
        fprintf(stderr, "devid-enroll renew: not every name given is a renewable identity\n");
        result = EXIT_USAGE;
    }
    free(list);
    enroll_ctx_free(&ctx);
    return result;
}

int cmd_renew(const enroll_options *opt, int argc, char **argv)
{
    service_args a;
    int ec = parse_args("renew", &argc, &argv, &a);
    if (ec != EXIT_HEALTHY)
        return ec;
    time_t next;
    return renew_pass(opt, &a, argc, argv, &next);
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int cmd_run(const enroll_options *opt, int argc, char **argv)
{
    service_args a;
    int ec = parse_args("run", &argc, &argv, &a);
    if (ec != EXIT_HEALTHY)
        return ec;
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (!getenv("DEVID_LOG_STDERR"))
        devid_log_use_syslog("devid-enroll");
    while (!stop) {
        time_t next = 0;
        renew_pass(opt, &a, argc, argv, &next);
        fflush(stdout);
        time_t now = time(NULL);
        long wait = a.interval;
        if (next > now && next - now < wait)
            wait = (long)(next - now);
        for (long s = 0; s < wait && !stop; s++)
            sleep(1);
    }
    return EXIT_HEALTHY;
}

int cmd_retire(const enroll_options *opt, int argc, char **argv)
{
    (void)opt;
    if (argc > 0) {
        fprintf(stderr, "devid-enroll retire: unexpected argument '%s'\n", argv[0]);
        return EXIT_USAGE;
    }
    const devid_map_entry *m = &devid_core_config()->map[DEVID_MAP_LDEVID];
    devid_store_entry *e = NULL;
    size_t n = 0;
    devid_rc rc = devid_store_list(&e, &n);
    for (size_t i = 0; rc == DEVID_OK && i < n; i++) {
        char path[4096];
        chain_path(e[i].attrs.label, path, sizeof(path));
        if (unlink(path) != 0 && errno != ENOENT)
            rc = devid_fail(DEVID_ERR_IO, "removing %s: %s", path, strerror(errno));
    }
    free(e);
    if (rc == DEVID_OK)
        rc = devid_store_clear();
    if (rc == DEVID_OK && m->key_handle) {
        rc = devid_provision_remove_key(m->key_handle);
        if (rc == DEVID_ERR_NOT_FOUND)
            rc = DEVID_OK;
    }
    if (rc == DEVID_OK && m->cert_source == DEVID_CERT_FILE && unlink(m->cert_file) != 0 &&
        errno != ENOENT)
        rc = devid_fail(DEVID_ERR_IO, "removing %s: %s", m->cert_file, strerror(errno));
    if (rc != DEVID_OK)
        return command_failed("retire", rc);
    printf("retired: owner identities and operational keys removed; the IDevID is kept\n");
    return EXIT_HEALTHY;
}
