/* SPDX-License-Identifier: Apache-2.0 */
/* Mutual TLS 1.3: full handshakes per second in one process.
 *
 * A server thread (default library context, software P-256 key, client certificate required
 * and verified, no tickets, no session cache) and a client loop in this thread: per handshake
 * a fresh socketpair, SSL_connect, then one byte from the server, which it only sends after
 * SSL_accept verified the client's certificate, CertificateVerify and Finished. Both run on
 * the 2 cores; the client CPU column therefore includes the server's work.
 *
 *  soft        client key in software: the ceiling
 *  soft-devid  the same with devid and default loaded in the client's library context (what
 *              coexisting with devid costs an application's software keys)
 *  devid       client key devid:object=LDevID through the devid provider
 *  tpm2        client key handle:0x81000002 through tpm2-openssl, directly on swtpm, the
 *              library context as `-provider tpm2 -provider default` leaves it: OpenSSL may
 *              fetch anything (digests, HKDF, random) from tpm2-openssl
 *  tpm2-abrmd  the same through tpm2-abrmd (TPM2OPENSSL_TCTI set by devid-bench)
 * (tpm2-openssl cannot be confined to the key's operations with a "?provider=default" query
 * on OpenSSL 3.0: the signature is then fetched from the default provider, which gets only
 * the public half of the TPM key: "missing private key".)
 * The TPM clients present the fixture's LDevID certificate (issued by the owner CA).
 */
#include "bench.h"
#include "tpm.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    SSL_CTX *server, *client;
    int pipe_fd[2];
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    char server_err[256];
} tls_ctx;

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, bool ca)
{
    static long serial = 1;
    X509 *x = X509_new();
    if (!x)
        return NULL;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
                                              ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    bool ok = ext && X509_add_ext(x, ext, -1) == 1 &&
              X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0;
    X509_EXTENSION_free(ext);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static X509 *read_cert(const char *name)
{
    const char *dir = getenv("DEVID_FIXTURE");
    char path[4096];
    snprintf(path, sizeof(path), "%s/pki/%s", dir ? dir : ".", name);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

static void *server_main(void *arg)
{
    tls_ctx *t = arg;
    int fd;
    while (read(t->pipe_fd[0], &fd, sizeof(fd)) == sizeof(fd) && fd >= 0) {
        SSL *s = SSL_new(t->server);
        if (s && SSL_set_fd(s, fd) == 1 && SSL_accept(s) == 1) {
            SSL_write(s, "k", 1);
        } else {
            char buf[256];
            pthread_mutex_lock(&t->lock);
            bench_ossl_err(buf, sizeof(buf), "server SSL_accept");
            const char *v = s ? X509_verify_cert_error_string(SSL_get_verify_result(s)) : "-";
            size_t n = strlen(buf);
            if (n >= sizeof(t->server_err))
                n = sizeof(t->server_err) - 1;
            memcpy(t->server_err, buf, n);
            t->server_err[n] = 0;
            strncat(t->server_err, " (verify: ", sizeof(t->server_err) - strlen(t->server_err) - 1);
            strncat(t->server_err, v, sizeof(t->server_err) - strlen(t->server_err) - 1);
            strncat(t->server_err, ")", sizeof(t->server_err) - strlen(t->server_err) - 1);
            pthread_mutex_unlock(&t->lock);
        }
        SSL_free(s);
        close(fd);
    }
    ERR_clear_error();
    return NULL;
}

static int handshake_op(void *arg, bench_op_io *io, char *err, size_t errlen)
{
    tls_ctx *t = arg;
    int sv[2];
    io->sig_len = 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
        snprintf(err, errlen, "socketpair failed");
        return -1;
    }
    if (write(t->pipe_fd[1], &sv[1], sizeof(sv[1])) != sizeof(sv[1])) {
        close(sv[0]);
        close(sv[1]);
        snprintf(err, errlen, "server thread gone");
        return -1;
    }
    SSL *s = SSL_new(t->client);
    char byte = 0;
    int ok = s && SSL_set_fd(s, sv[0]) == 1 && SSL_connect(s) == 1 && SSL_read(s, &byte, 1) == 1 &&
             byte == 'k';
    if (!ok) {
        char buf[200];
        bench_ossl_err(buf, sizeof(buf), "client handshake");
        pthread_mutex_lock(&t->lock);
        snprintf(err, errlen, "%s; %s", buf, t->server_err[0] ? t->server_err : "server: -");
        pthread_mutex_unlock(&t->lock);
    }
    SSL_free(s);
    close(sv[0]);
    return ok ? 0 : -1;
}

static double core_count(void)
{
    return (double)devid_tpm_command_count();
}

static SSL_CTX *new_ctx(OSSL_LIB_CTX *lib, const char *propq, const SSL_METHOD *m)
{
    SSL_CTX *c = SSL_CTX_new_ex(lib, propq, m);
    if (!c)
        return NULL;
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(c, 0);
    return c;
}

/* The server's context (its certificate, requiring a client certificate from the bench CA
 * or the owner CA) and the client's in lib (the client's certificate and key). 0, or -1 with
 * note. */
static int tls_contexts(tls_ctx *t, OSSL_LIB_CTX *lib, X509 *srv, EVP_PKEY *srv_key, X509 *ca,
                        X509 *owner_ca, X509 *cli, EVP_PKEY *cli_key, char *note, size_t len)
{
    t->server = new_ctx(NULL, NULL, TLS_server_method());
    t->client = new_ctx(lib, NULL, TLS_client_method());
    if (!t->server || !t->client || SSL_CTX_use_certificate(t->server, srv) != 1 ||
        SSL_CTX_use_PrivateKey(t->server, srv_key) != 1) {
        bench_ossl_err(note, len, "server SSL_CTX");
        return -1;
    }
    X509_STORE_add_cert(SSL_CTX_get_cert_store(t->server), ca);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(t->server), owner_ca);
    SSL_CTX_set_verify(t->server, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(t->client), ca);
    SSL_CTX_set_verify(t->client, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_use_certificate(t->client, cli) != 1 ||
        SSL_CTX_use_PrivateKey(t->client, cli_key) != 1) {
        bench_ossl_err(note, len, "client certificate/key");
        return -1;
    }
    return 0;
}

/* Stops the server thread (if it runs) and closes its pipe. */
static void tls_server_stop(tls_ctx *t)
{
    if (t->thread_started) {
        int stop = -1;
        if (write(t->pipe_fd[1], &stop, sizeof(stop)) == sizeof(stop))
            pthread_join(t->thread, NULL);
    }
    if (t->pipe_fd[0] >= 0) {
        close(t->pipe_fd[0]);
        close(t->pipe_fd[1]);
    }
}

void phase_tls(bench_result *r, const bench_opts *o, const char *which)
{
    char note[320];
    tls_ctx t = { .pipe_fd = { -1, -1 }, .lock = PTHREAD_MUTEX_INITIALIZER };
    prov_ctx p = { 0 };
    EVP_PKEY *ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *srv_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *cli_key = NULL;
    X509 *ca = ca_key ? make_cert(ca_key, "devid-bench CA", NULL, NULL, true) : NULL;
    X509 *srv = ca && srv_key ? make_cert(srv_key, "localhost", ca, ca_key, false) : NULL;
    X509 *cli = NULL, *owner_ca = read_cert("owner-ca.pem");
    bool soft = !strncmp(which, "soft", 4);
    /* soft-devid: a software key in the library context the devid rows use (devid and
     * default loaded), which isolates what coexisting with devid costs from the TPM's part */
    bool in_devid_ctx = strcmp(which, "soft") != 0;
    if (!srv || !owner_ca) {
        bench_fail(r, "making the server certificate / reading pki/owner-ca.pem failed");
        goto out;
    }
    if (in_devid_ctx) {
        int rc = bench_prov_open(!strcmp(which, "tpm2") ? "tpm2" : "devid", &p, note, sizeof(note));
        if (rc) {
            if (rc > 0)
                bench_skip(r, "%s", note);
            else
                bench_fail(r, "%s", note);
            goto out;
        }
    }
    if (soft) {
        cli_key = EVP_PKEY_Q_keygen(in_devid_ctx ? p.lib : NULL, NULL, "EC", "P-256");
        cli = cli_key ? make_cert(cli_key, "devid-bench soft client", ca, ca_key, false) : NULL;
    } else {
        cli = read_cert("ldevid.pem");
    }
    if (!cli) {
        bench_fail(r, "client certificate");
        goto out;
    }

    if (tls_contexts(&t, in_devid_ctx ? p.lib : NULL, srv, srv_key, ca, owner_ca, cli,
                     soft ? cli_key : p.key, note, sizeof(note))) {
        bench_fail(r, "%s", note);
        goto out;
    }
    if (pipe(t.pipe_fd) || pthread_create(&t.thread, NULL, server_main, &t)) {
        bench_fail(r, "server thread");
        goto out;
    }
    t.thread_started = true;
    bench_loop(r, o, handshake_op, &t, SIG_NONE, NULL, !strcmp(which, "devid") ? core_count : NULL);
    if (r->status == BENCH_OK)
        r->verified = (int)(r->ops ? r->ops : o->count_ops); /* each one verified by the server */
out:
    tls_server_stop(&t);
    SSL_CTX_free(t.client);
    SSL_CTX_free(t.server);
    X509_free(ca);
    X509_free(srv);
    X509_free(cli);
    X509_free(owner_ca);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(srv_key);
    EVP_PKEY_free(cli_key);
    bench_prov_close(&p);
}
