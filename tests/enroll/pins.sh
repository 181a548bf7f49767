#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# devid-enroll with PINs set the standard way (pkcs11-tool --init-token, then --init-pin): it
# takes the user PIN from pin_file in devid.conf for every command that makes a store key bound
# to the token (enroll, renew --rekey of a service identity); without it, or with a wrong one, it
# fails, names the setting and leaves the identities as they were. The LDevID is a DevID map key
# (no auth value, like the one `ldevid` makes): re-keyed with PINs set, it still signs.
# usage (under with-swtpm ecc): pins.sh BUILD_DIR
set -uo pipefail
. "$(dirname "$0")/lib.sh" "$1"
p11() { # pkcs11-tool with the build's module (an ASan module needs the runtime preloaded)
    LD_PRELOAD=${ossl_preload:-${LD_PRELOAD:-}} ASAN_OPTIONS=${ossl_preload:+detect_leaks=0} \
        pkcs11-tool --module "$build/pkcs11/devid-pkcs11.so" "$@" >"$work/p11.log" 2>&1 ||
        { cat "$work/p11.log" >&2; return 1; }
}
conf=$DEVID_FIXTURE/devid.conf
with_pin_file() { # with_pin_file [FILE]: the enrollment configuration, with pin_file if given
    write_conf </dev/null
    [ -z "${1:-}" ] || sed -i "1i pin_file = $1" "$conf"
}
so=87654321
user=1234
printf '%s\n' $user >"$work/user.pin"
printf '9999\n' >"$work/wrong.pin"
chmod 600 "$work/user.pin" "$work/wrong.pin"
echo "signed by the TPM" >"$work/msg"

check "init token" p11 --init-token --label DevID --so-pin $so
check "init user PIN" p11 --init-pin --pin $user --so-pin $so
owner_server

# no PIN source: refused, and the message says what to set
with_pin_file
out=$(enroll --server "$server" enroll svc 2>&1); rc=$?
check "enroll without a PIN source fails ($out)" test $rc -ne 0
check "... naming the setting" grep -q "no PIN source is configured: set pin_file in $conf" <<<"$out"
check "... no svc identity left" test "$(count_label svc)" -eq 0

# the PIN from pin_file
with_pin_file "$work/user.pin"
out=$(enroll --server "$server" ldevid 2>&1); rc=$?
check "ldevid with pin_file (the fixture's LDevID: nothing to do) ($out)" test $rc -eq 0
check "LDevID valid" test "$(status_of ldevid)" = valid
out=$(enroll --server "$server" enroll svc 2>&1); rc=$?
check "enroll svc with pin_file ($out)" test $rc -eq 0
check "svc key bound to the token" grep -q '^token_bound=1' $(grep -l '^label=svc$' "$DEVID_STORE"/*.attr)
out=$(enroll --server "$server" renew --force svc LDevID 2>&1); rc=$?
check "renew (same keys) svc and LDevID with pin_file ($out)" test $rc -eq 0
lpub0=$(pubkey_of_cert "$DEVID_STORE/ldevid-chain.pem")
out=$(enroll --server "$server" renew --force --rekey LDevID 2>&1); rc=$?
check "renew --rekey LDevID with pin_file ($out)" test $rc -eq 0
check "LDevID re-keyed" test "$(pubkey_of_cert "$DEVID_STORE/ldevid-chain.pem")" != "$lpub0"
check "LDevID valid after re-key" test "$(status_of ldevid)" = valid
# the re-keyed LDevID is a DevID map key like the one `ldevid` makes (no auth value, not the
# token secret): it signs through the provider, and through PKCS#11 after a login
ossl pkeyutl -provider devid -provider default -sign -inkey "devid:object=LDevID" \
    -rawin -digest sha256 -in "$work/msg" -out "$work/lsig" 2>"$work/err"
check "the re-keyed LDevID signs through the provider ($(head -c 200 "$work/err"))" \
    openssl pkeyutl -verify -certin -inkey "$DEVID_STORE/ldevid-chain.pem" -rawin -digest sha256 \
    -in "$work/msg" -sigfile "$work/lsig"
p11 --login --pin $user --list-objects --type privkey
lid=$(awk '/label: *LDevID$/ { f = 1 } f && /ID:/ { print $2; exit }' "$work/p11.log")
check "the LDevID is listed after a login (id '$lid')" test -n "$lid"
rm -f "$work/lsig"
check "the re-keyed LDevID signs through PKCS#11 after a login" p11 --login --pin $user \
    --sign --id "$lid" -m ECDSA-SHA256 --signature-format openssl --input-file "$work/msg" \
    --output-file "$work/lsig"
check "... a signature the certificate's key verifies" \
    openssl pkeyutl -verify -certin -inkey "$DEVID_STORE/ldevid-chain.pem" -rawin -digest sha256 \
    -in "$work/msg" -sigfile "$work/lsig"
spub0=$(pubkey_of_cert "$DEVID_STORE/svc-chain.pem")
out=$(enroll --server "$server" renew --force --rekey svc 2>&1); rc=$?
check "renew --rekey svc with pin_file ($out)" test $rc -eq 0
check "svc re-keyed" test "$(pubkey_of_cert "$DEVID_STORE/svc-chain.pem")" != "$spub0"
ossl pkeyutl -provider devid -provider default -sign -inkey "devid:object=svc" \
    -rawin -digest sha256 -in "$work/msg" -out "$work/sig" 2>"$work/err"
check "the renewed svc key signs through the provider ($(head -c 200 "$work/err"))" \
    openssl pkeyutl -verify -certin -inkey "$DEVID_STORE/svc-chain.pem" -rawin -digest sha256 \
    -in "$work/msg" -sigfile "$work/sig"

# a wrong PIN: refused, named, and nothing changes
with_pin_file "$work/wrong.pin"
# (the LDevID's new key has no auth value: re-keying it reads no PIN; a service key's does)
spub1=$(pubkey_of_cert "$DEVID_STORE/svc-chain.pem")
out=$(enroll --server "$server" renew --force --rekey svc 2>&1); rc=$?
check "renew --rekey svc with a wrong PIN fails ($out)" test $rc -ne 0
check "... naming the PIN's file and setting" \
    grep -q "incorrect user PIN in pin_file $work/wrong.pin (in $conf); not sent again" <<<"$out"
check "... saying why it is not retried" grep -q "dictionary-attack lockout" <<<"$out"
check "... svc is unchanged" test "$(pubkey_of_cert "$DEVID_STORE/svc-chain.pem")" = "$spub1"
out=$(enroll --server "$server" enroll svc2 2>&1); rc=$?
check "enroll with a wrong PIN fails ($out)" test $rc -ne 0
check "... naming the file" grep -q "incorrect user PIN in pin_file $work/wrong.pin" <<<"$out"
check "... no svc2 identity left" test "$(count_label svc2)" -eq 0
# no PIN source again: status needs no PIN (nothing is signed); the LDevID cannot sign for a
# new identity
with_pin_file
out=$(enroll status 2>&1); rc=$?
check "status without a PIN source ($out)" test $rc -eq 0
check "... LDevID valid" test "$(status_of ldevid)" = valid
out=$(enroll --server "$server" enroll svc3 2>&1); rc=$?
check "enroll without a PIN source fails ($out)" test $rc -ne 0
check "... naming the setting" grep -q "set pin_file in $conf" <<<"$out"
est_server_stop
summary enroll-pins
