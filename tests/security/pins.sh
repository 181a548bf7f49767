#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Regression tests for the PIN findings of docs/security.md:
#  1. keys with a password the user chose are under the TPM's dictionary-attack lockout;
#  2. wrong PINs given for the IDevID never reach the TPM (no lockout of the device identity);
#  3. a key bound to the token PIN through PKCS#11 works through the provider with that PIN.
# usage (under tests/fixture/with-swtpm ecc; the fixture locks out after 32 failures):
#   pins.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
M=$build/pkcs11/devid-pkcs11.so
P=(-provider-path "$build/ossl-provider" -provider devid -provider default)
work=$DEVID_FIXTURE/pins
mkdir -p "$work"
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
if [[ $(ldd "$build/ossl-provider/devid.so") == *libasan* ]]; then
    export LD_PRELOAD=$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)
    export ASAN_OPTIONS=detect_leaks=0
fi
echo "message" >"$work/msg"
sign() { openssl pkeyutl "${P[@]}" -sign -inkey "$1" -rawin -digest sha256 -in "$work/msg" -out "$work/sig" "${@:2}" 2>"$work/err"; }
clear_lockout() { env -u LD_PRELOAD tpm2_dictionarylockout --clear-lockout >/dev/null 2>&1; }

# 2. forty wrong PINs for the IDevID: ignored, the identity keeps signing
for i in $(seq 40); do sign "devid:object=IDevID?pin-value=wrong$i" >/dev/null; done
check "wrong PINs on the IDevID: no lockout" sign "devid:object=IDevID"
check "wrong PINs on the IDevID: the LDevID signs too" sign "devid:object=LDevID"

# 1. a password key: the TPM's lockout stops guessing
openssl genpkey "${P[@]}" -algorithm EC -pkeyopt group:P-256 -pkeyopt devid-label:weak \
    -pkeyopt devid-auth:1234 -out "$work/weak.pem" 2>"$work/err"
check "password key made" test -s "$work/weak.pem"
locked=0
for i in $(seq 40); do
    openssl dgst "${P[@]}" -sha256 -sign "$work/weak.pem" -passin "pass:wrong$i" -out /dev/null \
        "$work/msg" 2>"$work/err"
    if grep -qi "lockout" "$work/err"; then locked=1; break; fi
done
check "password keys: the lockout stops guessing" test $locked -eq 1
check "password keys: even the right password waits for the lockout" bash -c \
    "! openssl dgst ${P[*]} -sha256 -sign '$work/weak.pem' -passin pass:1234 -out /dev/null '$work/msg' 2>/dev/null"
clear_lockout
check "password keys: the right password after the lockout is cleared" \
    openssl dgst "${P[@]}" -sha256 -sign "$work/weak.pem" -passin pass:1234 -out /dev/null "$work/msg"

# 3. a PKCS#11 key bound to the user PIN, through the provider
p11() { pkcs11-tool --module "$M" "$@" >/dev/null 2>&1; }
p11 --init-token --label DevID --so-pin so-secret
p11 --init-pin --so-pin so-secret --pin 4321
p11 --login --pin 4321 --keypairgen --key-type EC:prime256v1 --label bound --id 42
check "PKCS#11 key through the provider with the user PIN" sign "devid:object=bound?pin-value=4321"
check_fails "PKCS#11 key through the provider: not without the PIN" "no PIN source is configured" \
    openssl pkeyutl "${P[@]}" -sign -inkey devid:object=bound -rawin -digest sha256 -in "$work/msg" -out "$work/sig"
summary pins
