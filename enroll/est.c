/* SPDX-License-Identifier: Apache-2.0 */
#include "est.h"
#include "clock_hint.h"
#include "est_msg.h"
#include "est_tls.h"
#include "http_headers.h"
#include "log.h"

#include <ctype.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_REPLY (1024 * 1024)

static const char *const op_paths[] = {
    [EST_CACERTS] = "cacerts",
    [EST_SIMPLEENROLL] = "simpleenroll",
    [EST_SIMPLEREENROLL] = "simplereenroll",
    [EST_CSRATTRS] = "csrattrs",
    [EST_ATTEST_NONCE] = "attest-nonce",
    [EST_ATTEST_ENROLL] = "attest-enroll",
};

/* The content type of each operation's 200 answer. */
static const char *const reply_types[] = {
    [EST_CACERTS] = "application/pkcs7-mime",
    [EST_SIMPLEENROLL] = "application/pkcs7-mime",
    [EST_SIMPLEREENROLL] = "application/pkcs7-mime",
    [EST_CSRATTRS] = "application/csrattrs",
    [EST_ATTEST_NONCE] = "application/vnd.devid.attest-nonce",
    [EST_ATTEST_ENROLL] = "application/vnd.devid.attest-response",
};

const char *est_outcome_name(est_outcome o)
{
    static const char *const names[] = { "done",      "wait",   "unauthorized",
                                         "transient", "failed", "refused" };
    return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "?";
}

struct est_conn {
    CURL *curl;
    const est_client_cfg *cfg;
    est_tls_setup tls;
    est_tls_watch watch; /* of the connection the last request went on */
    bool bound;          /* the current request may not open a new connection */
    bool refused_socket; /* ... and tried to */
    unsigned connections, full, resumed;
    X509_STORE *anchors; /* what the server was verified with, when that is trust_file alone */
    char *anchors_file;  /* ... that trust_file */
};

typedef struct {
    est_conn *conn;
    bool captured; /* the TLS state of this transfer is in conn->watch */
    char *body;
    size_t len;
    bool too_big;
    est_headers hdr;
} reply_buf;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    reply_buf *r = arg;
    size_t add = size * n;
    if (r->len + add > MAX_REPLY) {
        r->too_big = true;
        return 0;
    }
    char *grown = realloc(r->body, r->len + add + 1);
    if (!grown)
        return 0;
    memcpy(grown + r->len, data, add);
    r->body = grown;
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

/* The trust anchors libcurl loaded from trust_file (CAINFO) to verify the server: the same
 * certificates verify what the server issues, without reading and parsing the file again.
 * Only when that file is all libcurl trusts (no CAPATH, whose lookups add certificates from
 * the directory to the store, no anchors in memory, verification on). */
static void keep_anchors(est_conn *c)
{
    const est_client_cfg *cfg = c->cfg;
    if (c->anchors || !cfg->trust_file || cfg->trust_pem || cfg->system_trust || cfg->bootstrap)
        return;
    char *file = strdup(cfg->trust_file);
    X509_STORE *store = file ? est_tls_verify_store(c->curl) : NULL;
    if (!store) {
        free(file);
        return;
    }
    c->anchors = store;
    c->anchors_file = file;
}

X509_STORE *est_conn_trust_anchors(const est_conn *c, const char *trust_file)
{
    return c && c->anchors && trust_file && strcmp(c->anchors_file, trust_file) == 0 ? c->anchors
                                                                                     : NULL;
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    reply_buf *r = arg;
    size_t len = size * n;
    if (!r->captured) { /* the connection is in use now: its SSL* is valid */
        est_tls_capture(r->conn->curl, &r->conn->watch);
        keep_anchors(r->conn);
        r->captured = true;
    }
    est_parse_header_line(line, len, &r->hdr);
    return len;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void classify_http(est_op op, const reply_buf *rb, long status, est_reply *reply)
{
    reply->http_status = status;
    if (status == 200 || (status == 204 && op == EST_CSRATTRS)) {
        if (status == 204) {
            reply->outcome = EST_DONE;
            return;
        }
        const char *want = reply_types[op];
        if (strncasecmp(rb->hdr.content_type, want, strlen(want)) != 0) {
            reply->outcome = EST_FAILED;
            snprintf(reply->detail, sizeof(reply->detail), "unexpected content type '%s'",
                     rb->hdr.content_type);
            return;
        }
        bool raw = op == EST_CSRATTRS || op == EST_ATTEST_NONCE || op == EST_ATTEST_ENROLL;
        devid_rc rc = raw ? est_base64_decode(rb->body ? rb->body : "", rb->len, &reply->csrattrs,
                                              &reply->csrattrs_len)
                          : est_parse_certs_only(rb->body ? rb->body : "", rb->len, &reply->certs);
        reply->outcome = rc == DEVID_OK ? EST_DONE : EST_FAILED;
        if (rc != DEVID_OK)
            snprintf(reply->detail, sizeof(reply->detail), "bad response body: %s",
                     devid_last_error());
        return;
    }
    if (status == 202) {
        reply->outcome = EST_WAIT;
        reply->retry_after = est_parse_retry_after(rb->hdr.retry_after, (long)time(NULL));
        snprintf(reply->detail, sizeof(reply->detail), "202 Accepted, Retry-After '%s'",
                 rb->hdr.retry_after);
        return;
    }
    if (status >= 300 && status < 400) {
        reply->outcome = EST_FAILED;
        snprintf(reply->detail, sizeof(reply->detail),
                 "HTTP %ld redirect to '%s' refused (EST credentials stay with the configured "
                 "server)",
                 status, rb->hdr.location);
        return;
    }
    reply->outcome = status == 401 ? EST_UNAUTHORIZED : status >= 500 ? EST_TRANSIENT : EST_FAILED;
    if (rb->hdr.retry_after[0] && status >= 500)
        reply->retry_after = est_parse_retry_after(rb->hdr.retry_after, (long)time(NULL));
    /* a short, printable excerpt of the server's explanation */
    char excerpt[160] = "";
    size_t n = 0;
    for (size_t i = 0; rb->body && i < rb->len && n < sizeof(excerpt) - 1; i++)
        excerpt[n++] = isprint((unsigned char)rb->body[i]) ? rb->body[i] : ' ';
    excerpt[n] = '\0';
    snprintf(reply->detail, sizeof(reply->detail), "HTTP %ld%s%s", status, n ? ": " : "", excerpt);
}

/* Counts the connections the transfer just made (full handshake or resumed session). */
static long count_connections(est_conn *c, const reply_buf *rb)
{
    long connects = 0;
    curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &connects);
    if (connects <= 0)
        return 0;
    c->connections += (unsigned)connects;
    if (!rb->captured)
        return connects;
    if (c->watch.resumed)
        c->resumed++;
    else
        c->full++;
    devid_debug("EST: new TLS connection (%s, %s)",
                c->watch.version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2",
                c->watch.resumed ? "session resumed" : "full handshake");
    return connects;
}

static void set_credentials(CURL *curl, const est_client_cfg *cfg, long schemes)
{
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, cfg ? schemes : (long)CURLAUTH_NONE);
    curl_easy_setopt(curl, CURLOPT_USERNAME, cfg ? cfg->basic_user : NULL);
    curl_easy_setopt(curl, CURLOPT_PASSWORD, cfg ? (cfg->basic_pass ? cfg->basic_pass : "") : NULL);
}

/* A 401 says what the server offered and what we sent: the hint a refused login needs. */
static void describe_401(const reply_buf *rb, int mode, est_reply *reply)
{
    unsigned o = rb->hdr.auth_offered;
    reply->auth_offered = o;
    char offered[64];
    snprintf(offered, sizeof(offered), "%s%s%s%s", o & EST_SCHEME_BASIC ? " Basic" : "",
             o & EST_SCHEME_DIGEST ? " Digest" : "", o & EST_SCHEME_OTHER ? " other" : "",
             o ? "" : " nothing");
    static const char *const sent[] = { "Basic", "Digest", "Basic or Digest as offered" };
    size_t n = strlen(reply->detail);
    snprintf(reply->detail + n, sizeof(reply->detail) - n,
             " [the server offers:%s; we %s%s; not retried: a wrong password tried again "
             "counts against an account lockout]",
             offered,
             mode < 0 ? "sent no password (none is configured for this server and phase)"
                      : "authenticated with ",
             mode < 0 ? "" : sent[mode]);
}

/* Why the server refused our TLS client certificate, with what we know of it. */
static void describe_refusal(const est_conn *c, est_reply *reply)
{
    const X509 *cert = c->cfg->tls_cert;
    char mine[200] = "we sent no client certificate";
    if (cert) {
        char subject[128] = "";
        X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
        int expired = X509_cmp_current_time(X509_get0_notAfter(cert)) < 0;
        int early = X509_cmp_current_time(X509_get0_notBefore(cert)) > 0;
        snprintf(mine, sizeof(mine), "our certificate %s %s", subject,
                 expired ? "has expired"
                 : early ? "is not valid yet"
                         : "is within its validity");
    }
    snprintf(reply->detail, sizeof(reply->detail),
             "the server refused our TLS client certificate with the TLS alert '%s' (%s)",
             est_tls_alert_text(c->watch.alert), mine);
}

static void classify_curl(const est_conn *c, CURLcode cc, const char *errbuf, const reply_buf *rb,
                          est_reply *reply)
{
    if (est_tls_alert_refuses_cert(c->watch.alert)) {
        /* under TLS 1.3 this alert arrives at the first read (CURLE_RECV_ERROR), which would
         * otherwise look like a dropped connection */
        reply->outcome = EST_REFUSED;
        describe_refusal(c, reply);
        return;
    }
    if (c->refused_socket) {
        reply->outcome = EST_TRANSIENT;
        reply->not_sent = true;
        snprintf(reply->detail, sizeof(reply->detail),
                 "the server closed the TLS connection this request is bound to "
                 "(proof-of-possession: its channel binding); not sent on another");
        return;
    }
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        reply->outcome = EST_TRANSIENT;
        break;
    default:
        /* TLS verification failures, refused protocols, oversized replies: not retried */
        reply->outcome = EST_FAILED;
    }
    char alert[80] = "";
    if (c->watch.alert >= 0)
        snprintf(alert, sizeof(alert), " (TLS alert from the server: %s)",
                 est_tls_alert_text(c->watch.alert));
    snprintf(reply->detail, sizeof(reply->detail), "%s%s%s%s", curl_easy_strerror(cc),
             errbuf[0] ? ": " : "", rb->too_big ? "reply too large" : errbuf, alert);
    long verify = X509_V_OK;
    if (cc == CURLE_PEER_FAILED_VERIFICATION &&
        curl_easy_getinfo(c->curl, CURLINFO_SSL_VERIFYRESULT, &verify) == CURLE_OK)
        clock_hint_append(reply->detail, sizeof(reply->detail), verify);
}

/* New connections are made here so that a request bound to the previous connection cannot
 * silently go out on a new one. */
static curl_socket_t on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
    est_conn *c = arg;
    (void)purpose;
    if (c->bound) {
        c->refused_socket = true;
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype, addr->protocol);
}

devid_rc est_conn_open(const est_client_cfg *cfg, est_conn **out)
{
    if (!cfg->server || strncmp(cfg->server, "https://", 8) != 0)
        return devid_fail(DEVID_ERR_CONFIG, "EST server must be an https:// URL");
    if (!cfg->trust_file && !cfg->trust_pem && !cfg->system_trust && !cfg->bootstrap)
        return devid_fail(DEVID_ERR_CONFIG,
                          "no trust anchor for the EST server (set "
                          "est.trust_anchor, or bootstrap /cacerts with a fingerprint)");
    pthread_once(&curl_once, curl_init_once);
    est_conn *c = calloc(1, sizeof(*c));
    if (!c || !(c->curl = curl_easy_init())) {
        free(c);
        return devid_fail(DEVID_ERR_MEMORY, "curl");
    }
    c->cfg = cfg;
    c->watch.alert = -1;
    c->tls = (est_tls_setup){ .cfg = cfg, .watch = &c->watch };
    CURL *curl = c->curl;
    long timeout = cfg->timeout > 0 ? cfg->timeout : 30;
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, timeout);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, c);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, EST_USER_AGENT);
    if (cfg->bootstrap) {
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
        if (cfg->system_trust)
            curl_easy_setopt(curl, CURLOPT_CAPATH, "/etc/ssl/certs");
        else
            curl_easy_setopt(curl, CURLOPT_CAPATH, NULL);
        if (cfg->trust_pem) {
            struct curl_blob blob = { (void *)cfg->trust_pem, strlen(cfg->trust_pem),
                                      CURL_BLOB_COPY };
            curl_easy_setopt(curl, CURLOPT_CAINFO, NULL);
            curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
        } else {
            curl_easy_setopt(curl, CURLOPT_CAINFO, cfg->trust_file);
        }
    }
    curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, est_tls_on_ssl_ctx);
    curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, &c->tls);
    *out = c;
    return DEVID_OK;
}

void est_conn_close(est_conn *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    X509_STORE_free(c->anchors);
    free(c->anchors_file);
    free(c);
    ERR_clear_error();
}

void est_conn_binding(const est_conn *c, const unsigned char **data, size_t *len, int *version)
{
    *data = c->watch.binding;
    *len = c->watch.binding_len;
    *version = c->watch.version;
}

bool est_conn_alive(est_conn *c)
{
    curl_socket_t s = CURL_SOCKET_BAD;
    return curl_easy_getinfo(c->curl, CURLINFO_ACTIVESOCKET, &s) == CURLE_OK &&
           s != CURL_SOCKET_BAD;
}

void est_conn_counts(const est_conn *c, unsigned *connections, unsigned *full, unsigned *resumed)
{
    *connections = c->connections;
    *full = c->full;
    *resumed = c->resumed;
}

devid_rc est_conn_request(est_conn *c, est_op op, const unsigned char *csr_der, size_t csr_len,
                          unsigned flags, est_reply *reply)
{
    bool bound = flags & EST_REQ_BOUND;
    const est_client_cfg *cfg = c->cfg;
    memset(reply, 0, sizeof(*reply));
    reply->retry_after = -1;
    if (cfg->bootstrap && op != EST_CACERTS)
        return devid_fail(DEVID_ERR_ARG, "only /cacerts may be fetched unauthenticated");
    bool post = op == EST_SIMPLEENROLL || op == EST_SIMPLEREENROLL || op == EST_ATTEST_ENROLL;
    char url[1024];
    size_t base = strlen(cfg->server);
    while (base > 0 && cfg->server[base - 1] == '/')
        base--;
    if ((size_t)snprintf(url, sizeof(url), "%.*s/.well-known/est/%s%s%s", (int)base, cfg->server,
                         cfg->label ? cfg->label : "", cfg->label ? "/" : "",
                         op_paths[op]) >= sizeof(url))
        return devid_fail(DEVID_ERR_CONFIG, "EST URL too long");

    char *body = NULL;
    size_t body_len = 0;
    if (post) {
        devid_rc rc = est_base64_encode(csr_der, csr_len, &body, &body_len);
        if (rc != DEVID_OK)
            return rc;
    }
    CURL *curl = c->curl;
    struct curl_slist *headers = NULL;
    reply_buf rb = { .conn = c };
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &rb);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &rb);
    /* /cacerts needs no authentication: no secret goes with it (nor with the bootstrap) */
    bool secrets = op != EST_CACERTS && !cfg->bootstrap;
    if (cfg->header && secrets)
        headers = curl_slist_append(headers, cfg->header);
    static const long auth_bits[] = { [EST_AUTH_BASIC] = CURLAUTH_BASIC,
                                      [EST_AUTH_DIGEST] = CURLAUTH_DIGEST,
                                      [EST_AUTH_ANY] = CURLAUTH_BASIC | CURLAUTH_DIGEST };
    bool password = secrets && cfg->basic_user;
    set_credentials(curl, password ? cfg : NULL, password ? auth_bits[cfg->auth] : 0);
    if (post) {
        headers = curl_slist_append(headers,
                                    op == EST_ATTEST_ENROLL
                                        ? "Content-Type: application/vnd.devid.attest-request"
                                        : "Content-Type: application/pkcs10");
        headers = curl_slist_append(headers, "Content-Transfer-Encoding: base64");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)body_len);
    } else {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    c->watch.alert = -1;
    c->bound = bound;
    c->refused_socket = false;
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, (flags & EST_REQ_LAST) ? 1L : 0L);

    CURLcode cc = curl_easy_perform(curl);
    long status = 0, connects = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (cc == CURLE_OK && status == 401 && password && cfg->auth == EST_AUTH_BASIC &&
        !(rb.hdr.auth_offered & EST_SCHEME_BASIC) && (rb.hdr.auth_offered & EST_SCHEME_DIGEST)) {
        /* Basic sent unasked to a server that does only Digest: its one more attempt */
        devid_info("EST %s: the server asks for HTTP Digest, not Basic: one attempt with Digest",
                   op_paths[op]);
        set_credentials(curl, cfg, CURLAUTH_DIGEST);
        count_connections(c, &rb);
        free(rb.body);
        rb = (reply_buf){ .conn = c };
        cc = curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    }
    connects = count_connections(c, &rb);
    if (cc == CURLE_OK && bound && connects != 0) { /* (on_open_socket prevents this) */
        reply->outcome = EST_FAILED;
        snprintf(reply->detail, sizeof(reply->detail),
                 "the request bound to the previous TLS connection went on a new one");
    } else if (cc == CURLE_OK) {
        classify_http(op, &rb, status, reply);
        if (status == 401)
            describe_401(&rb, password ? (int)cfg->auth : -1, reply);
    } else {
        classify_curl(c, cc, errbuf, &rb, reply);
    }
    devid_debug("EST %s %s: HTTP %ld, %s (%s)", post ? "POST" : "GET", op_paths[op], status,
                est_outcome_name(reply->outcome), reply->detail);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(headers);
    free(rb.body);
    free(body);
    ERR_clear_error();
    return DEVID_OK;
}

devid_rc est_request(const est_client_cfg *cfg, est_op op, const unsigned char *csr_der,
                     size_t csr_len, est_reply *reply)
{
    memset(reply, 0, sizeof(*reply));
    reply->retry_after = -1;
    est_conn *c = NULL;
    devid_rc rc = est_conn_open(cfg, &c);
    if (rc == DEVID_OK)
        rc = est_conn_request(c, op, csr_der, csr_len, EST_REQ_LAST, reply);
    est_conn_close(c);
    return rc;
}

void est_reply_clear(est_reply *reply)
{
    sk_X509_pop_free(reply->certs, X509_free);
    free(reply->csrattrs);
    memset(reply, 0, sizeof(*reply));
}
