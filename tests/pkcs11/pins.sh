#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The PIN model through pkcs11-tool: a fresh token needs no login (and accepts any PIN);
# C_InitToken sets the SO PIN and clears the store but never the factory identities;
# C_InitPIN sets the user PIN; from then on the TPM checks PINs, private objects need a login,
# and generated keys are bound to it; C_SetPIN changes a PIN without touching keys.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

so=87654321
user=1234
echo data >"$work/data"
idevid=$(cert_id "$pki/idevid.pem")
privkeys() { p11 "$@" --list-objects --type privkey 2>/dev/null | grep -c '^Private Key Object' || true; }

# fresh token: no PIN, no login needed, any PIN accepted
check_match "fresh: no login required" 'token flags +: rng, token initialized$' p11 --list-slots
check "fresh: login with any PIN" p11 --login --pin 0000 --list-objects
check "fresh: a store key" p11 --keypairgen --key-type EC:prime256v1 --label before --id c0
check "fresh: factory keys visible without login" test "$(privkeys)" -eq 3
echo "chain and configuration" >"$work/cfg"
check "fresh: a data object" p11 --write-object "$work/cfg" --type data --label cfg-before \
    --application-label devid-test
check "fresh: data object read back" p11 --read-object --type data --label cfg-before \
    -o "$work/cfg.back"
check "fresh: data object value" cmp "$work/cfg" "$work/cfg.back"

# C_InitToken: SO PIN set, store cleared, factory objects kept
check "init token" p11 --init-token --label DevID --so-pin $so
check "store cleared" test "$(find "$DEVID_STORE" -name '*.attr' | wc -l)" -eq 0
check "data values cleared" test "$(find "$DEVID_STORE" -name '*.dat' | wc -l)" -eq 0
check_fails "data object gone with the store" "object not found" \
    p11 --read-object --type data --label cfg-before -o "$work/x"
check "factory identities kept" p11 --read-object --type cert --id "$idevid" -o "$work/c"
check_fails "user login before the user PIN exists" "CKR_USER_PIN_NOT_INITIALIZED" \
    p11 --login --pin $user --list-objects
check_fails "C_InitPIN with a wrong SO PIN" "CKR_PIN_INCORRECT" \
    p11 --init-pin --pin $user --so-pin 11111111
check "init user PIN" p11 --init-pin --pin $user --so-pin $so
check_match "login required now" 'token flags +:.*login required.*PIN initialized' p11 --list-slots

# private objects need the login; the TPM checks the PIN
check "private keys hidden without login" test "$(privkeys)" -eq 0
check "private keys visible after login" test "$(privkeys --login --pin $user)" -eq 2
check_fails "wrong user PIN" "CKR_PIN_INCORRECT" p11 --login --pin 9999 --list-objects
check "factory key signs after login" p11 --login --pin $user --sign -m ECDSA-SHA256 \
    --id "$idevid" -i "$work/data" -o "$work/sig"

# private data objects likewise; public ones stay readable without login
check_fails "no private data object without login" "CKR_USER_NOT_LOGGED_IN" \
    p11 --write-object "$work/cfg" --type data --label secret-cfg --private
check "private data object with login" p11 --login --pin $user --write-object "$work/cfg" \
    --type data --label secret-cfg --application-label devid-test --private
check_fails "private data object hidden without login" "object not found" \
    p11 --read-object --type data --label secret-cfg -o "$work/x"
check "private data object read after login" p11 --login --pin $user --read-object \
    --type data --label secret-cfg -o "$work/cfg.back"
check "private data object value" cmp "$work/cfg" "$work/cfg.back"
check "public data object with login" p11 --login --pin $user --write-object "$work/cfg" \
    --type data --label public-cfg
check "public data object read without login" p11 --read-object --type data \
    --label public-cfg -o "$work/cfg.back"
check "public data object value" cmp "$work/cfg" "$work/cfg.back"

# keys generated now are bound to the login (their TPM auth value is the token secret)
check "generate with login" p11 --login --pin $user --keypairgen --key-type EC:prime256v1 \
    --label bound --id c1
check "bound key signs after login" p11 --login --pin $user --sign -m ECDSA-SHA256 --id c1 \
    -i "$work/data" -o "$work/sig"
check_fails "bound key unusable without login" 'Logging in to "DevID"' p11 --sign -m ECDSA-SHA256 --id c1 \
    -i "$work/data" -o "$work/sig"
check_fails "no key generation without login" "CKR_USER_NOT_LOGGED_IN" \
    p11 --keypairgen --key-type EC:prime256v1 --label nologin

# HMAC keys in the TPM likewise: bound to the login, hidden and unusable without it
check "HMAC key with login" p11 --login --pin $user --keygen --key-type GENERIC:32 \
    --usage-sign --sensitive --label mac --id c2
check "HMAC with login" p11 --login --pin $user --sign -m SHA256-HMAC --id c2 \
    -i "$work/data" -o "$work/mac"
check "HMAC is 32 bytes" test "$(stat -c %s "$work/mac")" -eq 32
check "HMAC verifies in the TPM" p11 --login --pin $user --verify -m SHA256-HMAC --id c2 \
    -i "$work/data" --signature-file "$work/mac"
check_fails "HMAC key unusable without login" 'Logging in to "DevID"' p11 --sign -m SHA256-HMAC --id c2 \
    -i "$work/data" -o "$work/mac2"
check_fails "no HMAC key generation without login" "CKR_USER_NOT_LOGGED_IN" \
    p11 --keygen --key-type GENERIC:32 --usage-sign --sensitive --label nologin

# C_SetPIN: the old PIN stops working, the new one opens the same keys
check "change user PIN" p11 --change-pin --pin $user --new-pin 5678
check_fails "old PIN refused" "CKR_PIN_INCORRECT" p11 --login --pin $user --list-objects
check "bound key signs with the new PIN" p11 --login --pin 5678 --sign -m ECDSA-SHA256 \
    --id c1 -i "$work/data" -o "$work/sig"
check_match "pkcs11-tool --test with login" '^No errors' p11 --test --login --pin 5678

# re-initialisation needs the SO PIN
check_fails "re-init with a wrong SO PIN" "CKR_PIN_INCORRECT" \
    p11 --init-token --label DevID --so-pin 00000000
check "re-init with the SO PIN" p11 --init-token --label DevID --so-pin $so
check "store cleared again" test "$(find "$DEVID_STORE" -name '*.key' | wc -l)" -eq 0
check "data values cleared again" test "$(find "$DEVID_STORE" -name '*.dat' | wc -l)" -eq 0

summary "pkcs11-pins-$variant"
