#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Mutual TLS with the DevID keys: gnutls-cli authenticates with pkcs11: URIs (key in the TPM,
# certificate from the token) to an openssl s_server that demands a client certificate
# chaining to the fixture's roots (-Verify 1 -verify_return_error), TLS 1.2 and TLS 1.3. The
# server (software key) and gnutls-cli (the TPM) never share the swtpm.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
needs_unsanitized_tools "gnutls-cli"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -keyout "$work/srv.key" \
    -out "$work/srv.pem" -subj /CN=localhost -addext subjectAltName=DNS:localhost -days 1 \
    2>/dev/null

# tls VERSION IDENT: one handshake; the server's -www page (which names the client
# certificate it verified) ends up in $work/page.
tls() {
    local version=$1 ident=$2 log=$work/srv.log port= rc
    rm -f "$log"
    openssl s_server -accept 0 -naccept 1 -cert "$work/srv.pem" -key "$work/srv.key" \
        -CAfile "$pki/trust.pem" -Verify 1 -verify_return_error "-tls${version/./_}" -www \
        >"$log" 2>&1 &
    local srv=$!
    # until it says its port (a bounded wait that ends early if it died: the port is all the
    # readiness there is, a fixed short limit fails a server slow to start on a loaded machine)
    for _ in $(seq 600); do
        port=$(sed -n 's/^ACCEPT .*:\([0-9]*\)$/\1/p' "$log")
        [[ -n $port ]] && break
        kill -0 "$srv" 2>/dev/null || break
        sleep 0.05
    done
    [[ -n $port ]] || { echo "s_server did not start:" >&2; cat "$log" >&2; return 1; }
    local uri="pkcs11:token=DevID;object=$ident"
    printf 'GET / HTTP/1.0\r\n\r\n' | timeout 30 "${tool_env[@]}" gnutls-cli --provider "$M" \
        --x509certfile "$uri;type=cert" --x509keyfile "$uri;type=private" \
        --x509cafile "$work/srv.pem" --priority "NORMAL:-VERS-ALL:+VERS-TLS$version" \
        -p "$port" localhost >"$work/page" 2>&1 && rc=0 || rc=$?
    kill "$srv" 2>/dev/null || true # (gone already after a handshake)
    wait "$srv" || true
    return $rc
}

for ident in IDevID LDevID; do
    subject=$(openssl x509 -in "$pki/$(tr 'A-Z' 'a-z' <<<"$ident").pem" -noout -subject \
        -nameopt RFC2253 | sed 's/^subject=//')
    cn=${subject#*CN=}
    cn=${cn%%,*}
    for version in 1.2 1.3; do
        check "$ident TLS $version handshake" tls "$version" "$ident"
        check_match "$ident TLS $version: protocol" "Protocol +: TLSv$version" cat "$work/page"
        check_match "$ident TLS $version: the server verified the DevID certificate" \
            "Subject: .*CN ?= ?$cn" cat "$work/page"
    done
done

summary "pkcs11-tls-$variant"
