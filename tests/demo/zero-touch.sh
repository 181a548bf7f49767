#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The demo's steps, run under tests/fixture/with-swtpm ek-only (see tests/demo/zero-touch).
set -uo pipefail
. "$(dirname "$0")/../enroll/lib.sh" "$1"
t_start=$(date +%s%N)
step_start=0
step() {
    step_start=$(date +%s%N)
    printf '\n== %s\n' "$*"
}
done_step() { printf '   (%d ms)\n' $((($(date +%s%N) - step_start) / 1000000)); }
die() {
    echo "demo: FAILED: $*" >&2
    exit 1
}
tls_server() { # a TLS server with a software key that requires a client certificate
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
        -addext subjectAltName=DNS:localhost -days 1 -keyout "$work/srv.key" \
        -out "$work/srv.pem" 2>/dev/null
    mkfifo "$work/srv.in"
    sleep 1000 >"$work/srv.in" &
    feeder=$!
    openssl s_server -accept 0 -naccept 100 -cert "$work/srv.pem" -key "$work/srv.key" \
        -Verify 2 -verify_return_error -CAfile "$pki/owner-ca.pem" -www <"$work/srv.in" \
        >"$work/srv.log" 2>&1 &
    srv=$!
    for _ in $(seq 600); do # (ends early if s_server died)
        tls_port=$(grep -oE 'ACCEPT .*:[0-9]+' "$work/srv.log" | grep -oE '[0-9]+$' || true)
        [ -n "$tls_port" ] && break
        kill -0 "$srv" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$tls_port" ] || die "TLS server did not start"
}
stop_tls_server() { kill "$srv" "$feeder" 2>/dev/null || true; }

step "A factory-fresh device: the TPM holds only its EK (swtpm at $DEVID_TCTI)"
enroll status | sed -n '/^EK (RSA)/,/chain/p'
done_step

step "Factory station: the IDevID, enrolled over EST (HTTP Basic + header secret)"
factory_server
enroll --server "$server" idevid \
    --subject "O=Devid Test OEM,OU=Devid Test Device Model 1,CN=Devid Test Device,serialNumber=SN-$$" ||
    die "IDevID enrollment"
est_server_stop
done_step

step "Owner: the LDevID, over EST authenticated by the IDevID (mutual TLS, key in the TPM)"
owner_server
enroll --server "$server" ldevid || die "LDevID enrollment"
done_step

step "Field: operational identities device-ca and device-id, authenticated by the LDevID"
enroll --server "$server" enroll device-ca || die "device-ca"
enroll --server "$server" enroll device-id || die "device-id"
done_step

step "devid-enroll status"
enroll status | grep -E '^[A-Za-z].*:|chain:' || true
done_step

step "Mutual TLS with device-id through the OpenSSL provider: openssl s_client, then curl"
tls_server
echo Q | ossl s_client -provider devid -provider default -connect "localhost:$tls_port" \
    -key devid:object=device-id -cert "$DEVID_STORE/device-id-chain.pem" \
    -CAfile "$work/srv.pem" -verify_return_error -brief 2>&1 | grep -E 'Verification|Protocol' ||
    die "openssl s_client"
cat >"$work/openssl.cnf" <<CNF
openssl_conf = conf
[conf]
providers = providers
[providers]
devid = devid_section
default = default_section
[devid_section]
activate = 1
[default_section]
activate = 1
CNF
ossl pkey -provider devid -provider default -in devid:object=device-id -out "$work/device-id.ref" 2>/dev/null ||
    die "reference file"
if [ -n "${ossl_preload:-}" ]; then
    # curl deadlocks at start-up with the ASan runtime preloaded (its own problem, not ours);
    # the normal build's demo and tests/provider cover this step
    echo "(curl step not run in a sanitizer build)"
else
    code=$(OPENSSL_MODULES=$modules OPENSSL_CONF=$work/openssl.cnf timeout 60 \
        curl -s -o /dev/null -w '%{http_code}' --cacert "$work/srv.pem" \
        --cert "$DEVID_STORE/device-id-chain.pem" --key "$work/device-id.ref" \
        "https://localhost:$tls_port/") || true
    echo "curl with the TPM key: HTTP $code"
    [ "$code" = 200 ] || die "curl"
fi
done_step

step "Mutual TLS with device-ca through PKCS#11: gnutls-cli with pkcs11: URIs"
if [ -n "${ossl_preload:-}" ]; then
    # tools linking libp11-kit hang at exit with the ASan runtime preloaded; tests/pkcs11 and
    # the normal build's demo cover this step
    echo "(gnutls-cli step not run in a sanitizer build)"
elif [ -e "$build/pkcs11/devid-pkcs11.so" ]; then
    echo Q | timeout 60 gnutls-cli --provider "$build/pkcs11/devid-pkcs11.so" \
        --x509cafile "$work/srv.pem" -p "$tls_port" localhost \
        --x509keyfile "pkcs11:token=DevID;object=device-ca;type=private" \
        --x509certfile "$DEVID_STORE/device-ca-chain.pem" 2>&1 | grep -E 'Handshake was completed|Description' ||
        die "gnutls-cli"
else
    echo "(the PKCS#11 module is not built in this tree)"
fi
stop_tls_server
done_step

step "Renewal with new keys: device-id and the LDevID (old pair kept until the new one is verified)"
before=$(openssl x509 -in "$DEVID_STORE/device-id-chain.pem" -noout -pubkey | sha256sum | cut -c1-16)
enroll --server "$server" renew --force --rekey device-id LDevID || die "renewal"
after=$(openssl x509 -in "$DEVID_STORE/device-id-chain.pem" -noout -pubkey | sha256sum | cut -c1-16)
echo "device-id public key: $before -> $after"
[ "$before" != "$after" ] || die "re-key"
done_step

step "What the servers received (their own record): secrets only where they belong"
printf '   %-15s %-6s %-13s %-13s %s\n' request status password header-secret client-certificate
for log in factory owner; do
    echo "   -- $log server"
    received "$work/$log.log" | awk -F'\t' '{printf "   %-15s %-6s %-13s %-13s %s\n", $1, $2, $3, $4, substr($5, 1, 40)}'
done
all_secrets "$work/factory.log" simpleenroll || die "a factory enrollment went without the station's credentials"
no_secrets "$work/factory.log" cacerts || die "a secret went with /cacerts"
no_secrets "$work/owner.log" || die "the owner's server received the station's password or header"
done_step

step "Final status"
enroll status | grep -E '^[A-Za-z].*:|chain:' || true
enroll status >/dev/null || die "an identity needs attention"
printf '\n== zero-touch demo done in %d ms\n' $((($(date +%s%N) - t_start) / 1000000))
