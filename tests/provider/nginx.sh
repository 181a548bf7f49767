#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# nginx with TPM keys through OPENSSL_CONF, unmodified (the recipes in docs/openssl-provider.md):
#   1. nginx as an HTTPS server whose own key is a TSS2 PRIVATE KEY file in the TPM store, and
#      which requires client certificates (ssl_verify_client on);
#   2. nginx as an mTLS client: a reverse proxy authenticating to an upstream that requires client
#      certificates (openssl s_server -Verify 1) with the factory IDevID through a reference file;
#   3. the same with nginx's usual process model, a master and two forked workers, through the
#      tpm2-abrmd resource manager (what /dev/tpmrm0 is on a device): the master reads the key
#      files, every worker signs over its own TPM connection.
# usage (under with-swtpm ecc|rsa): nginx.sh
. "$(dirname "$0")/lib.sh"
abrmd=$(cd "$(dirname "$0")/../bench" && pwd)/abrmd.sh
cd "$work"
command -v nginx >/dev/null || { echo "nginx is not installed (.ci/packages.txt lists it)" >&2; exit 1; }
# In the ASan build nginx and openssl run with the sanitizer runtime preloaded (lib.sh); the
# tools that only talk to them (curl, pgrep, dbus-daemon, tpm2-abrmd) hang in setlocale() with
# it, and do not load our code: they run without it.
plain() { env -u LD_PRELOAD "$@"; }
cnf=$(make_openssl_cnf "$work/openssl.cnf" "tcti = $DEVID_TCTI")

# a test CA, a server key generated in the TPM store (TSS2 file) with a certificate for
# 127.0.0.1, and a software client key for the server test
make_test_ca nginx-test-ca
check "server key generated in the TPM store" genpkey_tpm nginx-server tpmsrv.key
openssl req "${PFIRST[@]}" -new -key tpmsrv.key -subj /CN=localhost -out tpmsrv.csr
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.ext
issue_cert tpmsrv.csr tpmsrv.crt san.ext
make_soft_cert client nginx-test-client

# the upstream for the proxy: requires a client certificate from the fixture's PKI and prints it
make_server_cert ec
start_s_server "$work/upstream.log" -cert srv.pem -key srv.key -Verify 1 -CAfile "$trust" \
    -verify_return_error -www
upstream_port=$port
idevid_files
idevid_cn=$(openssl x509 -in idevid.pem -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')

nginx_pid=
# start_nginx NAME MASTER(on|off) WORKERS: writes NAME.conf, starts nginx, sets https_sock and
# proxy_sock (nginx cannot report a port it was given as 0: it listens on unix sockets)
start_nginx() {
    local name=$1 master=$2 workers=$3
    https_sock=$work/$name/https.sock
    proxy_sock=$work/$name/proxy.sock
    mkdir -p "$work/$name"
    # user root: the test runs as root and the workers must reach the private D-Bus session bus
    # of tpm2-abrmd (scenario 3), which only accepts its own uid.
    cat >"$work/$name.conf" <<CONF
user root root;
daemon off;
master_process $master;
worker_processes $workers;
pid $work/$name/nginx.pid;
error_log $work/$name/error.log info;
# nginx clears its workers' environment; the TPM settings come from the provider's openssl.cnf
# section (tcti = ...), or keep them with: env DEVID_TCTI;
events { worker_connections 64; }
http {
    access_log $work/$name/access.log;
    client_body_temp_path $work/$name/body;
    proxy_temp_path $work/$name/proxy;
    fastcgi_temp_path $work/$name/fastcgi;
    uwsgi_temp_path $work/$name/uwsgi;
    scgi_temp_path $work/$name/scgi;
    server {
        listen unix:$https_sock ssl;
        ssl_protocols TLSv1.2 TLSv1.3;   # nginx 1.22 leaves TLS 1.3 out by default
        ssl_certificate $work/tpmsrv.crt;
        ssl_certificate_key $work/tpmsrv.key;
        ssl_client_certificate $work/ca.pem;
        ssl_verify_client on;
        location / { return 200 "hello \$ssl_client_s_dn\n"; }
    }
    server {
        listen unix:$proxy_sock;
        location / {
            proxy_pass https://127.0.0.1:$upstream_port;
            proxy_ssl_certificate $work/idevid.pem;
            proxy_ssl_certificate_key $work/idevid.ref;
            proxy_ssl_trusted_certificate $work/srv.pem;
            proxy_ssl_verify on;
            proxy_ssl_name localhost;
            proxy_ssl_protocols TLSv1.2 TLSv1.3;
        }
    }
}
CONF
    OPENSSL_CONF=$cnf nginx -p "$work/$name" -e "$work/$name/error.log" -c "$work/$name.conf" \
        >"$work/$name/out.log" 2>&1 &
    nginx_pid=$!
    server_pids+=("$nginx_pid")
    wait_socket "$https_sock" && wait_socket "$proxy_sock" ||
        { echo "nginx did not start:" >&2; cat "$work/$name/out.log" "$work/$name/error.log" >&2; return 1; }
}
stop_nginx() {
    kill "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
}

# https_get TLS-VERSION: curl (software client key) against nginx's TPM-keyed server
https_get() {
    plain curl -sS --fail --max-time 20 "$@" --cacert ca.pem --cert client.crt --key client.key \
        --unix-socket "$https_sock" "https://127.0.0.1/" | grep -q "hello .*CN=nginx-test-client"
}
# proxied_get: plain HTTP to nginx, which authenticates upstream with the IDevID
proxied_get() {
    plain curl -sS --fail --max-time 20 --unix-socket "$proxy_sock" "http://127.0.0.1/" \
        -o proxied.html &&
        grep -q "Client certificate" proxied.html && grep -q "CN *= *$idevid_cn" proxied.html
}
run_checks() { # run_checks LABEL
    check "$1: nginx serves TLS 1.3 with its key in the TPM" https_get --tlsv1.3
    check "$1: nginx serves TLS 1.2 with its key in the TPM" https_get --tls-max 1.2
    check "$1: nginx refuses a client without a certificate" sh -c \
        "! env -u LD_PRELOAD curl -sS --fail --max-time 20 --cacert ca.pem --unix-socket $https_sock https://127.0.0.1/"
    check "$1: proxy authenticates upstream with the IDevID" proxied_get
}

# 1 + 2: one process on the bare swtpm (which serves one connection at a time)
if check "nginx (single process) starts with TPM key files" start_nginx single off 1; then
    run_checks "single process"
    for _ in 1 2 3 4 5; do https_get --tlsv1.3 || break; done
    check "five more handshakes in a row" https_get --tlsv1.3
fi
stop_nginx

# 3: master + 2 workers through tpm2-abrmd
export DEVID_BENCH_WORK=$work
# a private D-Bus session bus for abrmd (no system bus, no root policy involved)
bus=$(plain dbus-daemon --session --fork --print-address=1 --print-pid=1)
export DBUS_SESSION_BUS_ADDRESS=$(sed -n 1p <<<"$bus")
server_pids+=("$(sed -n 2p <<<"$bus")")
abrmd_tcti=$(plain "$abrmd" start)
trap '"$abrmd" stop; cleanup_lib' EXIT
cnf=$(make_openssl_cnf "$work/openssl.cnf" "tcti = $abrmd_tcti")
if check "nginx (master + 2 workers, tpm2-abrmd) starts" start_nginx workers on 2; then
    # nginx listens before it forks its workers: wait for them (while the master lives)
    workers_up() {
        local i
        for ((i = 0; i < 600; i++)); do
            [[ $(plain pgrep -c -P "$nginx_pid") -eq 2 ]] && return 0
            kill -0 "$nginx_pid" 2>/dev/null || return 1
            sleep 0.05
        done
        return 1
    }
    check "two worker processes" workers_up
    run_checks "workers"
    # enough connections that both workers sign (connections are spread over the workers)
    for _ in $(seq 10); do https_get --tlsv1.3 || break; done
    check "ten handshakes over the workers" https_get --tlsv1.3
fi
stop_nginx

summary
