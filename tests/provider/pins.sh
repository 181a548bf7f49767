#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The provider with PINs set the standard way (pkcs11-tool --init-token, then --init-pin): store
# keys take the user PIN from pin_file in devid.conf, or from pin-value / pin-source in the
# devid: URI (RFC 7512); genpkey, pkeyutl and s_client work with each; a missing or wrong PIN is
# an error that names the setting.
# usage (under with-swtpm ecc|rsa|ek-only): pins.sh
. "$(dirname "$0")/lib.sh"
: "${DEVID_PKCS11_MODULE:?set by meson}"
cd "$work"
so=87654321
user=Pin4711xyz
p11() { pkcs11-tool --module "$DEVID_PKCS11_MODULE" "$@"; }
conf=$work/devid.conf
use_conf() { # use_conf [PIN-FILE]: the fixture's configuration, with pin_file if given
    { [[ -z ${1:-} ]] || printf 'pin_file = %s\n' "$1"; cat "$work/fixture.conf"; } >"$conf"
}
cp "$DEVID_CONF" "$work/fixture.conf"
export DEVID_CONF=$conf
use_conf

check "init token" p11 --init-token --label DevID --so-pin $so
check "init user PIN" p11 --init-pin --pin $user --so-pin $so
printf '%s\n' $user >user.pin
printf '9999\n' >wrong.pin
chmod 600 user.pin wrong.pin
echo "data to sign" >data
openssl dgst -sha256 -binary data >data.sha256

# no PIN source: generation fails and says which setting to set
gen=(-algorithm EC -pkeyopt group:P-256)
md=()
rsa=false
if [[ $(<"$DEVID_FIXTURE/variant") == rsa ]]; then
    gen=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt devid-decrypt:1)
    md=(-pkeyopt digest:sha256)
    rsa=true
fi
check_fails "genpkey without a PIN source" "no PIN source is configured: set pin_file in $conf" \
    openssl genpkey "${PFIRST[@]}" "${gen[@]}" -pkeyopt devid-label:k1 -out k1.ref
use_conf "$work/user.pin"
check "genpkey with pin_file" openssl genpkey "${PFIRST[@]}" "${gen[@]}" -pkeyopt devid-label:k1 -out k1.ref
check "the key is bound to the token" grep -q '^token_bound=1' $(grep -l '^label=k1$' "$DEVID_STORE"/*.attr)
check "public key (no PIN needed)" sh -c "openssl pkey ${PFIRST[*]} -pubin -in 'devid:object=k1;type=public' -pubout -out k1.pub"

# a key pkcs11-tool made while logged in (as a service provisions it), then used by the
# provider: the provider opens the key before it logs in, so the token's seal is unsealed with
# the SRK and the key already loaded. Without a persistent SRK (ek-only) the session's salt
# key, the EK, then found no free object slot on swtpm (three) and every attempt failed.
check "keypairgen logged in (pkcs11-tool)" \
    p11 --login --pin $user --keypairgen --key-type EC:prime256v1 --label svc --id 05
check "its public key" openssl pkey "${PFIRST[@]}" -pubin -in "devid:object=svc;type=public" -pubout -out svc.pub
sign_svc() { # sign_svc URI: pkeyutl -rawin as a service does, verified by OpenSSL alone
    openssl pkeyutl "${PFIRST[@]}" -sign -inkey "$1" -rawin -digest sha256 -in data -out svc.sig &&
        openssl pkeyutl -verify -pubin -inkey svc.pub -rawin -digest sha256 -in data -sigfile svc.sig
}
check "sign with pkcs11-tool's key and pin-value" sign_svc "devid:object=svc?pin-value=$user"
check "sign with pkcs11-tool's key and pin_file" sign_svc "devid:object=svc"

sign_verify() { # sign_verify URI: signs through the provider, verified by OpenSSL alone
    openssl pkeyutl "${PFIRST[@]}" -sign -inkey "$1" "${md[@]}" -in data.sha256 -out sig &&
        openssl pkeyutl -verify -pubin -inkey k1.pub "${md[@]}" -in data.sha256 -sigfile sig
}
decrypt() { # decrypt URI (RSA): encrypted by OpenSSL alone, decrypted in the TPM
    openssl pkeyutl -encrypt -pubin -inkey k1.pub -pkeyopt rsa_padding_mode:oaep -in data -out enc &&
        openssl pkeyutl "${PFIRST[@]}" -decrypt -inkey "$1" -pkeyopt rsa_padding_mode:oaep \
            -in enc -out dec && cmp data dec
}
check "sign with pin_file" sign_verify "devid:object=k1"
check "sign with genpkey's key file and pin_file" sign_verify k1.ref
if $rsa; then
    check "decrypt with pin_file" decrypt "devid:object=k1"
    use_conf
    check "decrypt with pin-value" decrypt "devid:object=k1?pin-value=$user"
    check_fails "decrypt without a PIN source" "set pin_file in $conf" decrypt "devid:object=k1"
fi
use_conf
check_fails "sign without a PIN source" "set pin_file in $conf" sign_verify "devid:object=k1"
# (OpenSSL's file: loader drops the errors of decoders that fail: no message to check here)
check_fails "sign with the key file without a PIN source" \
    "Could not (read|find) private key from k1.ref" sign_verify k1.ref
check "sign with pin-value" sign_verify "devid:object=k1?pin-value=$user"
check "sign with pin-source" sign_verify "devid:object=k1?pin-source=file:$work/user.pin"
check_fails "sign with a wrong pin-value" "incorrect user PIN" sign_verify "devid:object=k1?pin-value=9999"
use_conf "$work/wrong.pin"
check_fails "sign with a wrong pin_file" "incorrect user PIN in pin_file $work/wrong.pin" \
    sign_verify "devid:object=k1"
chmod 644 wrong.pin
check_fails "a pin_file every user can read is refused" "pin_file $work/wrong.pin \(in $conf\) is readable by every user" \
    sign_verify "devid:object=k1"
use_conf "$work/nonexistent.pin"
check_fails "a missing pin_file" "pin_file $work/nonexistent.pin" sign_verify "devid:object=k1"

# the PIN never reaches a log, even at debug level (wrong, right, from the file or the URI)
use_conf "$work/user.pin"
DEVID_LOG=debug sign_verify "devid:object=k1" >pinlog.txt 2>&1 || true
DEVID_LOG=debug sign_verify "devid:object=k1?pin-value=$user" >>pinlog.txt 2>&1 || true
DEVID_LOG=debug sign_verify "devid:object=k1?pin-value=${user}0" >>pinlog.txt 2>&1 || true
check "debug logs were written" test -s pinlog.txt
# (openssl itself echoes the URI it could not open, pin-value included: not devid's output;
# OpenSSL 3.0 says "read", 3.5 "find")
check "no PIN in the debug logs" \
    sh -c "! grep -vE '^Could not (read|find) private key from' pinlog.txt | grep '$user'"

# mutual TLS with the store key: a certificate for it from a test CA, s_client through the
# provider, PIN from the configuration and from the URI
use_conf "$work/user.pin"
make_test_ca "PIN test CA"
check "CSR with the PIN-bound key" openssl req "${PFIRST[@]}" -new -key devid:object=k1 -subj /CN=k1 -out k1.csr
issue_cert k1.csr k1.crt
make_server_cert ec
start_s_server "$work/srv.log" -cert "$work/srv.pem" -key "$work/srv.key" -Verify 1 \
    -CAfile "$work/ca.pem" -verify_return_error
handshake() { # handshake KEY-URI
    local out
    out=$(echo Q | openssl s_client "${PFIRST[@]}" -connect "127.0.0.1:$port" -key "$1" \
        -cert k1.crt -CAfile "$work/srv.pem" -verify_return_error 2>&1) || { echo "$out"; return 1; }
    grep -q "^New, TLSv1" <<<"$out" || { echo "$out"; return 1; }
}
check "s_client with pin_file" handshake devid:object=k1
use_conf
check "s_client with pin-value" handshake "devid:object=k1?pin-value=$user"
check "s_client with pin-source" handshake "devid:object=k1?pin-source=file:$work/user.pin"
check_fails "s_client without a PIN" "PINs are set and no PIN source is configured" handshake devid:object=k1
check "the server verified the client certificates" \
    test "$(grep -c '^verify return:1' "$work/srv.log" || true)" -ge 3

summary
