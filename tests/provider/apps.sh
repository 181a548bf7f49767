#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Path-only applications (curl, mosquitto_pub) using TPM keys through OPENSSL_CONF:
#   - a devid key reference file for the factory IDevID;
#   - a TSS2 PRIVATE KEY file generated in the TPM store (openssl genpkey -pkeyopt devid-label),
#     certified by a test CA;
# against servers that require client certificates (openssl s_server -Verify 1 -www, mosquitto
# with require_certificate true).
# usage (under with-swtpm ecc|rsa): apps.sh
. "$(dirname "$0")/lib.sh"
cd "$work"
cnf=$(make_openssl_cnf)

# the provider's openssl.cnf section configures core (here: the TCTI, with DEVID_TCTI unset)
make_openssl_cnf "$work/tcti.cnf" "tcti = $DEVID_TCTI" >/dev/null
check "tcti from the provider's openssl.cnf section" sh -c \
    "env -u DEVID_TCTI OPENSSL_CONF=tcti.cnf openssl pkey -in devid:object=IDevID -pubout | grep -q 'BEGIN PUBLIC KEY'"
check_fails "without any TCTI the swtpm is not found" \
    "no TPM device: neither /dev/tpmrm0 nor /dev/tpm0 exists" \
    env -u DEVID_TCTI OPENSSL_CONF="$cnf" openssl pkey -in devid:object=IDevID -pubout

# the IDevID: its certificate and a reference file
idevid_files

# a store key as a TSS2 PRIVATE KEY file, with a certificate from a test CA
make_test_ca apps-test-ca
check "genpkey in the TPM store" genpkey_tpm apps-test tpmkey.pem
check "the key file is a TSS2 PRIVATE KEY" grep -q "BEGIN TSS2 PRIVATE KEY" tpmkey.pem
check "CSR signed by the key file" \
    openssl req "${PFIRST[@]}" -new -key tpmkey.pem -subj /CN=apps-client -out tpmkey.csr
issue_cert tpmkey.csr tpmkey.crt
cat "$trust" ca.pem >clients-ca.pem
# and an ordinary software client key, which must keep working with devid active
make_soft_cert soft soft-client

make_server_cert ec
start_s_server "$work/srv.log" -cert srv.pem -key srv.key -Verify 1 -CAfile clients-ca.pem \
    -verify_return_error -www

curl_get() { # curl_get CERT KEY
    OPENSSL_CONF=$cnf curl -sS --fail --max-time 20 --cacert srv.pem --cert "$1" --key "$2" \
        "https://127.0.0.1:$port/" -o page.html && grep -q "Client certificate" page.html
}
if [[ -n ${asan_preloaded:-} ]]; then
    # curl deadlocks in setlocale() at start-up with the ASan runtime preloaded (with or
    # without the provider): the curl checks run in the normal build only.
    skip "curl (ASan runtime cannot be preloaded into curl)"
else
    check "curl with the IDevID reference file" curl_get idevid.pem idevid.ref
    check "curl with the TSS2 key file" curl_get tpmkey.crt tpmkey.pem
    check "curl with a software key file, devid active" curl_get soft.crt soft.key
    check_fails "curl without the provider cannot use the reference file" \
        "unable to set private key file: 'idevid.ref'" \
        env OPENSSL_CONF=/dev/null curl -sS --fail --max-time 20 --cacert srv.pem \
        --cert idevid.pem --key idevid.ref "https://127.0.0.1:$port/" -o /dev/null
fi

# mosquitto broker that requires client certificates
# (on a unix socket: mosquitto cannot report a port it was given as 0)
msock=$work/mqtt.sock
# (run as root, mosquitto would drop to its own user, which cannot read our temp dir)
cat >mosquitto.conf <<CONF
user $(id -un)
listener 0 $msock
cafile $work/clients-ca.pem
certfile $work/srv.pem
keyfile $work/srv.key
require_certificate true
use_identity_as_username true
allow_anonymous true
log_dest file $work/mosquitto.log
log_type all
CONF
mosquitto -c mosquitto.conf >mosquitto.out 2>&1 &
server_pids+=($!)
wait_socket "$msock" || cat mosquitto.out mosquitto.log
pub() { # pub CERT KEY TOPIC
    # SIGPIPE ignored: mosquitto_pub 2.0.21 (Debian 13) often dies of it (exit 141) in the TLS
    # shutdown after its DISCONNECT, when the broker has already closed: after the PUBACK, so
    # not about the key (software keys too); the broker's log below is what counts.
    (trap '' PIPE
        OPENSSL_CONF=$cnf exec mosquitto_pub --unix "$msock" --cafile srv.pem --cert "$1" \
            --key "$2" -t "$3" -m "hello from the TPM" -q 1) &&
        for _ in $(seq 50); do grep -q "Received PUBLISH .*'$3'" mosquitto.log && return 0; sleep 0.05; done
}
check "mosquitto_pub with the IDevID reference file" pub idevid.pem idevid.ref devid/idevid
check "mosquitto_pub with the TSS2 key file" pub tpmkey.crt tpmkey.pem devid/tss2
check "mosquitto_pub with a software key file, devid active" pub soft.crt soft.key devid/soft

[[ $failed -eq 0 ]] || cat mosquitto.log
summary
