#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Mutual TLS with a DevID: openssl s_server -Verify 1 (software server key, the fixture's trust
# anchors) <-> openssl s_client signing with the TPM key through the devid provider.
# TLS 1.2 and 1.3, IDevID and LDevID, provider loaded first and second.
# usage (under with-swtpm ecc|rsa): tls.sh
. "$(dirname "$0")/lib.sh"

make_server_cert ec
start_s_server "$work/srv.log" -cert "$work/srv.pem" -key "$work/srv.key" -Verify 1 \
    -CAfile "$trust" -verify_return_error

handshake() { # handshake PROVIDER-ORDER-VAR TLS-VERSION OBJECT [PORT]
    local -n pargs=$1
    local out
    out=$(echo Q | openssl s_client "${pargs[@]}" -connect "127.0.0.1:${4:-$port}" "$2" \
        -key "devid:object=$3" -cert "devid:object=$3;type=cert" -CAfile "$work/srv.pem" \
        -verify_return_error 2>&1) || { echo "$out"; return 1; }
    # The server logs the client certificate's subject only when it verified it.
    grep -q "^New, TLSv1" <<<"$out" || { echo "$out"; return 1; }
}

for obj in IDevID LDevID; do
    for v in -tls1_2 -tls1_3; do
        check "$obj ${v#-} provider first" handshake PFIRST "$v" "$obj"
        check "$obj ${v#-} provider second" handshake PSECOND "$v" "$obj"
    done
done
# A server that only offers P-256 (the ephemeral keys are software keys: the default provider
# makes them, whichever provider OpenSSL asked first).
main_port=$port
start_s_server "$work/p256.log" -cert "$work/srv.pem" -key "$work/srv.key" -Verify 1 \
    -CAfile "$trust" -verify_return_error -groups P-256
for v in -tls1_2 -tls1_3; do
    check "P-256-only server ${v#-} provider first" handshake PFIRST "$v" IDevID "$port"
    check "P-256-only server ${v#-} provider second" handshake PSECOND "$v" IDevID "$port"
done
port=$main_port

# The server saw and verified every client certificate.
check "server verified client certificates" \
    test "$(grep -c '^verify return:1' "$work/srv.log" || true)" -ge 8

summary
