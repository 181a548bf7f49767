#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A TPM whose owner and endorsement hierarchies have auth values (the ek-only-hauth fixture: no
# persistent SRK, so every store key needs the owner's to make the standard SRK): with the
# settings that name their files, C_GenerateKeyPair, C_InitToken and the provider's key
# generation work; without them, the error names the setting.
# usage (under with-swtpm ek-only-hauth): hierarchy-auth.sh BUILD_ROOT
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../pkcs11/lib.sh"
export OPENSSL_MODULES=$1/ossl-provider

head -c 64 /dev/urandom >"$work/data"
grep -v auth_file "$DEVID_CONF" >"$work/no-auth.conf"
no_auth() { DEVID_CONF=$work/no-auth.conf "$@"; }
p11_no_auth() { DEVID_CONF=$work/no-auth.conf DEVID_LOG=warn p11 "$@"; }
check_fails "C_GenerateKeyPair without owner_auth_file: the error names the setting" \
    "set owner_auth_file" p11_no_auth --keypairgen --key-type EC:prime256v1 --label k0 \
    --id 0100
check_fails "the provider's genpkey without it: the error names the setting" \
    "set owner_auth_file" no_auth tool openssl genpkey \
    -provider devid -provider default -algorithm EC -pkeyopt group:P-256 \
    -pkeyopt devid-label:prov0 -out "$work/prov0.key"
check "C_GenerateKeyPair with it" p11 --keypairgen --key-type EC:prime256v1 --label k1 --id 0101
check "and the key signs" p11 --sign --id 0101 -m ECDSA-SHA256 --input-file "$work/data" \
    --output-file /dev/null
check "the provider generates a store key" tool openssl genpkey -provider devid \
    -provider default -algorithm EC -pkeyopt group:P-256 -pkeyopt devid-label:prov \
    -out "$work/prov.key"
check "C_InitToken (seals the token secret under the SRK)" p11 --init-token --label DevID \
    --so-pin 11223344
check "C_InitPIN" p11 --init-pin --login --login-type so --so-pin 11223344 --pin 5566
check "a key bound to the login" p11 --login --pin 5566 --keypairgen \
    --key-type EC:prime256v1 --label k2 --id 0102
check "signs after a login" p11 --login --pin 5566 --sign --id 0102 -m ECDSA-SHA256 \
    --input-file "$work/data" --output-file /dev/null

summary hierarchy-auth
