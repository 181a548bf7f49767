#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# OpenSC pkcs11-tool against devid-pkcs11.so on a provisioned swtpm: slot/token, the object
# list per fixture variant, signatures (checked again by openssl against the certificate),
# verification, decryption, digests, random, pkcs11-tool's own --test and --test-fork, and
# that factory objects refuse deletion.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

# ---- token ------------------------------------------------------------------------------------
check_match "list slots" 'token label +: DevID' p11 --list-slots
check_match "token initialised" 'token flags +: .*token initialized' p11 --list-slots
check_match "show info" 'Manufacturer +devid' p11 --show-info

p11 --list-objects >"$work/objects" 2>&1 || true
count() { grep -c "^$1" "$work/objects" || true; }
case $variant in
ecc | rsa) want_priv=2 want_pub=3 want_cert=4 ;;
ek-only) want_priv=0 want_pub=1 want_cert=1 ;;
empty) want_priv=0 want_pub=0 want_cert=0 ;;
esac
check "private keys: $(count 'Private Key Object') = $want_priv" \
    test "$(count 'Private Key Object')" -eq $want_priv
check "public keys: $(count 'Public Key Object') = $want_pub" \
    test "$(count 'Public Key Object')" -eq $want_pub
check "certificates: $(count 'Certificate Object') = $want_cert" \
    test "$(count 'Certificate Object')" -eq $want_cert

# ---- randomness and digests (any variant with a TPM) -------------------------------------
p11 --generate-random 64 -o "$work/random" >/dev/null 2>&1 || true
check "generate random" test "$(stat -c %s "$work/random" 2>/dev/null)" = 64
head -c 1000 /dev/urandom >"$work/data"
for h in SHA-1 SHA256 SHA384 SHA512; do
    alg=$(tr -d '-' <<<"$h" | tr 'A-Z' 'a-z')
    p11 --hash -m "$h" -i "$work/data" -o "$work/hash" 2>/dev/null || true
    check "digest $h" cmp "$work/hash" <(openssl dgst "-$alg" -binary "$work/data")
done

check_match "pkcs11-tool --test" '^No errors' p11 --test
check_match "pkcs11-tool --test with login (no PIN set: any PIN)" '^No errors' \
    p11 --test --login --pin 1234
check "pkcs11-tool --test-fork" p11 --test-fork

if [[ $variant == ek-only ]]; then
    ek=$(cert_id "$pki/ek.pem")
    check "EK certificate by id" p11 --read-object --type cert --id "$ek" -o "$work/ek.der"
    check "EK certificate value" cmp "$work/ek.der" <(openssl x509 -in "$pki/ek.pem" -outform DER)
    check_fails "EK has no private key" "Private(/secret)? key not found" p11 --sign -m RSA-PKCS --id "$ek" -i "$work/data"
fi

if [[ $variant != ecc && $variant != rsa ]]; then
    summary "pkcs11-tool-$variant"
    exit
fi

# ---- identities -------------------------------------------------------------------------------
openssl dgst -sha256 -binary "$work/data" >"$work/data.sha256"
for ident in idevid ldevid; do
    cert=$pki/$ident.pem
    id=$(cert_id "$cert")
    cert_pub "$cert" >"$work/$ident.pub"

    check "$ident: certificate by id" p11 --read-object --type cert --id "$id" -o "$work/c.der"
    check "$ident: certificate value" cmp "$work/c.der" <(openssl x509 -in "$cert" -outform DER)
    check "$ident: public key by id" bash -c "$(declare -p tool_env M); \
        $(declare -f tool p11_pubkey); p11_pubkey $id >'$work/p.pem'"
    check "$ident: public key value" cmp "$work/p.pem" "$work/$ident.pub"
    if [[ $variant == rsa ]]; then # (pkcs11-tool 0.23 rebuilds EC public keys from freed memory)
        check "$ident: pkcs11-tool reads the public key" p11 --read-object --type pubkey \
            --id "$id" -o "$work/p.der"
        check "$ident: pkcs11-tool's public key" cmp \
            <(openssl pkey -pubin -inform DER -in "$work/p.der") "$work/$ident.pub"
    fi

    sign() { # sign MECH IN OUT [pkcs11-tool options]
        local mech=$1 in=$2 out=$3
        shift 3
        p11 --sign -m "$mech" --id "$id" -i "$in" -o "$out" "$@"
    }
    p11verify() { # p11verify MECH IN SIG [options]
        local mech=$1 in=$2 sig=$3
        shift 3
        p11 --verify -m "$mech" --id "$id" -i "$in" --signature-file "$sig" "$@"
    }
    if [[ $variant == ecc ]]; then
        check "$ident: ECDSA-SHA256" sign ECDSA-SHA256 "$work/data" "$work/sig"
        check "$ident: ECDSA-SHA256 r||s is 64 bytes" test "$(stat -c %s "$work/sig")" -eq 64
        check "$ident: ECDSA-SHA256 C_Verify" p11verify ECDSA-SHA256 "$work/data" "$work/sig"
        for h in SHA1 SHA384 SHA512; do
            alg=$(tr 'A-Z' 'a-z' <<<"$h")
            check "$ident: ECDSA-$h" sign "ECDSA-$h" "$work/data" "$work/sig.der" -f openssl
            check "$ident: ECDSA-$h verified by openssl" openssl dgst "-$alg" \
                -verify "$work/$ident.pub" -signature "$work/sig.der" "$work/data"
            check "$ident: ECDSA-$h C_Verify" p11verify "ECDSA-$h" "$work/data" \
                "$work/sig.der" -f openssl
        done
        # raw ECDSA over a digest: 20, 32 and 48-byte inputs
        for n in 20 32 48; do
            head -c $n "$work/data.sha256" >"$work/dg" 2>/dev/null || head -c $n "$work/data" >"$work/dg"
            [[ $n -le 32 ]] || openssl dgst -sha384 -binary "$work/data" >"$work/dg"
            check "$ident: ECDSA over $n bytes" sign ECDSA "$work/dg" "$work/sig.der" -f openssl
            check "$ident: ECDSA over $n bytes verified by openssl" openssl pkeyutl -verify \
                -pubin -inkey "$work/$ident.pub" -in "$work/dg" -sigfile "$work/sig.der"
        done
        check_fails "$ident: RSA mechanism on an EC key" "CKR_KEY_TYPE_INCONSISTENT" \
            sign SHA256-RSA-PKCS "$work/data" "$work/sig"
    else
        for spec in "SHA1 RSA-PKCS" "SHA256 RSA-PKCS-PSS" "SHA384 RSA-PKCS" "SHA512 RSA-PKCS-PSS"; do
            read -r h pad <<<"$spec"
            alg=$(tr 'A-Z' 'a-z' <<<"$h")
            opts=()
            [[ $pad == *PSS ]] && opts=(-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest)
            check "$ident: $h-$pad" sign "$h-$pad" "$work/data" "$work/sig"
            check "$ident: $h-$pad C_Verify" p11verify "$h-$pad" "$work/data" "$work/sig"
            check "$ident: $h-$pad verified by openssl" openssl dgst "-$alg" "${opts[@]}" \
                -verify "$work/$ident.pub" -signature "$work/sig" "$work/data"
        done
        # CKM_RSA_PKCS over a DigestInfo (what TLS stacks send)
        { printf '\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20'
          cat "$work/data.sha256"; } >"$work/digestinfo"
        check "$ident: RSA-PKCS over a DigestInfo" sign RSA-PKCS "$work/digestinfo" "$work/sig"
        check "$ident: RSA-PKCS verified by openssl" openssl pkeyutl -verify -pubin \
            -inkey "$work/$ident.pub" -in "$work/data.sha256" -sigfile "$work/sig" \
            -pkeyopt digest:sha256
        if [[ $ident == ldevid ]]; then # the LDevID may decrypt: raw RSA and decryption
            { printf '\x00\x01'; head -c 254 /dev/zero | tr '\0' '\377'; } >"$work/block"
            check "$ident: RSA-X-509" sign RSA-X-509 "$work/block" "$work/sig"
            check "$ident: RSA-X-509 C_Verify" p11verify RSA-X-509 "$work/block" "$work/sig"
            check "$ident: RSA-X-509 recovered by openssl" cmp "$work/block" \
                <(openssl pkeyutl -verifyrecover -pubin -inkey "$work/$ident.pub" \
                    -pkeyopt rsa_padding_mode:none -in "$work/sig")
            echo "a secret" >"$work/msg"
            openssl pkeyutl -encrypt -pubin -inkey "$work/$ident.pub" -in "$work/msg" \
                -out "$work/ct"
            check "$ident: RSA-PKCS decryption" decrypts_to "$work/msg" -m RSA-PKCS --id "$id" \
                -i "$work/ct"
            openssl pkeyutl -encrypt -pubin -inkey "$work/$ident.pub" -in "$work/msg" \
                -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 \
                -pkeyopt rsa_mgf1_md:sha256 -out "$work/ct"
            check "$ident: RSA-PKCS-OAEP decryption" decrypts_to "$work/msg" -m RSA-PKCS-OAEP \
                --hash-algorithm SHA256 --id "$id" -i "$work/ct"
        else # sign-only: raw RSA is not among its allowed mechanisms
            check_fails "$ident: RSA-X-509 refused" "CKR_MECHANISM_INVALID" \
                sign RSA-X-509 "$work/data" "$work/sig"
        fi
        check_fails "$ident: ECDSA on an RSA key" "CKR_KEY_TYPE_INCONSISTENT" \
            sign ECDSA-SHA256 "$work/data" "$work/sig"
    fi

    # factory objects are read-only, and stay where they are
    for type in privkey pubkey cert; do # 0x1b: CKR_ACTION_PROHIBITED
        check_fails "$ident: delete $type refused" "\(0x1b\)" \
            p11 --delete-object --type "$type" --id "$id"
    done
    check "$ident: still there" p11 --read-object --type cert --id "$id" -o "$work/c.der"
done

summary "pkcs11-tool-$variant"
