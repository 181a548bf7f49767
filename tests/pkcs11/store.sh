#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Store-backed objects through pkcs11-tool: key pair generation (EC P-256/P-384, RSA
# 2048/3072) persisted in the store, signatures checked by openssl, a certificate written next
# to its key, CKA_ID changed object by object, objects deleted; every step in a new process, so every step also
# checks that other processes see the change.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

store=$DEVID_STORE
groups() { find "$store" -name '*.attr' | wc -l; }
echo data to sign >"$work/data"

gen() { # gen KEYTYPE LABEL ID [options]
    local type=$1 label=$2 id=$3
    shift 3
    p11 --keypairgen --key-type "$type" --label "$label" --id "$id" "$@"
}

check "generate EC P-256" gen EC:prime256v1 gen-p256 a1
check "generate EC P-384" gen EC:secp384r1 gen-p384 a2
check "generate RSA 2048 (sign, decrypt)" gen rsa:2048 gen-rsa2048 a3 --usage-sign --usage-decrypt
check "generate RSA 3072" gen rsa:3072 gen-rsa3072 a4 --usage-sign
check "four store groups" test "$(groups)" -eq 4
check_fails "P-521 is refused" "\(0x140\)" gen EC:secp521r1 gen-p521 a5 # CKR_CURVE_NOT_SUPPORTED
check_fails "RSA 1024 is refused" "CKR_KEY_SIZE_RANGE" gen rsa:1024 gen-rsa1024 a6
check "still four store groups" test "$(groups)" -eq 4

for spec in "a1 ECDSA-SHA256 sha256" "a2 ECDSA-SHA384 sha384" "a3 SHA256-RSA-PKCS sha256" \
    "a4 SHA384-RSA-PKCS-PSS sha384"; do
    read -r id mech md <<<"$spec"
    opts=()
    [[ $mech == ECDSA* ]] && opts=(-f openssl)
    [[ $mech == *PSS ]] && vopts=(-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest) ||
        vopts=()
    check "key $id: public key" bash -c "$(declare -p tool_env M); $(declare -f tool p11_pubkey); \
        p11_pubkey $id >'$work/$id.pub'"
    check "key $id: $mech" p11 --sign -m "$mech" --id "$id" -i "$work/data" -o "$work/sig" \
        "${opts[@]}"
    check "key $id: $mech verified by openssl" openssl dgst "-$md" "${vopts[@]}" \
        -verify "$work/$id.pub" -signature "$work/sig" "$work/data"
done

# raw RSA and decryption need the decrypt usage
check "key a3: RSA-X-509 allowed" p11 --sign -m RSA-X-509 --id a3 -i <(printf '\0\1'; head -c 254 /dev/zero) \
    -o "$work/sig"
echo secret >"$work/msg"
openssl pkeyutl -encrypt -pubin -inkey "$work/a3.pub" -in "$work/msg" -out "$work/ct"
check "key a3: decryption" decrypts_to "$work/msg" -m RSA-PKCS --id a3 -i "$work/ct"
check_fails "key a4 (sign only): RSA-X-509 refused" "CKR_MECHANISM_INVALID" \
    p11 --sign -m RSA-X-509 --id a4 -i <(printf '\0\1'; head -c 382 /dev/zero) -o "$work/sig"

# ECDH with a key generated for derivation, checked against openssl's
check "generate EC P-256 for ECDH" gen EC:prime256v1 gen-dh d1 --usage-derive
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/peer.key" 2>/dev/null
openssl pkey -in "$work/peer.key" -pubout -outform DER -out "$work/peer.der"
check "ECDH1-DERIVE" p11 --derive -m ECDH1-DERIVE --id d1 -i "$work/peer.der" -o "$work/z"
p11_pubkey d1 >"$work/d1.pub" 2>/dev/null || true
check "ECDH secret equals openssl's" cmp "$work/z" <(openssl pkeyutl -derive \
    -inkey "$work/peer.key" -peerkey "$work/d1.pub")
check "delete the ECDH key" p11 --delete-object --type privkey --id d1

# a certificate for key a1, issued by the fixture's owner CA, goes next to its key
openssl req -new -key <(openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256) \
    -subj "/CN=generated key a1" -out "$work/a1.csr" 2>/dev/null
openssl x509 -req -in "$work/a1.csr" -force_pubkey "$work/a1.pub" -CA "$pki/owner-ca.pem" \
    -CAkey "$pki/owner-ca.key" -days 30 -outform DER -out "$work/a1.crt" 2>/dev/null
check "write certificate" p11 --write-object "$work/a1.crt" --type cert --id a1 --label gen-p256
check "certificate joined its key's group" test "$(groups)" -eq 4
check "certificate read back" p11 --read-object --type cert --id a1 -o "$work/back.der"
check "certificate value" cmp "$work/back.der" "$work/a1.crt"
check_match "certificate labelled like its key" 'label: +gen-p256' p11 --list-objects --type cert

# a certificate without a key: a group of its own
openssl x509 -in "$pki/owner-ca.pem" -outform DER -out "$work/ca.der"
check "write a CA certificate" p11 --write-object "$work/ca.der" --type cert --label owner-ca
check "five store groups" test "$(groups)" -eq 5

# CKA_ID belongs to one object: the private key moves alone, then the others follow
check "set CKA_ID of the private key" p11 --set-id b1 --id a1 --type privkey
check "private key under the new ID" p11 --sign -m ECDSA-SHA256 --id b1 -i "$work/data" -o "$work/sig"
check "public key still under the old ID" bash -c "$(declare -p tool_env M); \
    $(declare -f tool p11_pubkey); p11_pubkey a1 >/dev/null"
check "certificate still under the old ID" p11 --read-object --type cert --id a1 -o "$work/x"
check "set CKA_ID of the public key" p11 --set-id b1 --id a1 --type pubkey
check "set CKA_ID of the certificate" p11 --set-id b1 --id a1 --type cert
check "public key under the new ID" bash -c "$(declare -p tool_env M); \
    $(declare -f tool p11_pubkey); p11_pubkey b1 >/dev/null"
check "certificate under the new ID" p11 --read-object --type cert --id b1 -o "$work/x"
check_fails "nothing left under the old ID" "object not found" p11 --read-object --type cert --id a1 -o "$work/x"
check "one name again: the older file format" bash -c "! grep -l 'public_id\|cert_id' $store/*.attr"

# deleting: certificate, then public key (hidden: the key stays usable), then private key
check "delete certificate" p11 --delete-object --type cert --id b1
check_fails "certificate gone" "object not found" p11 --read-object --type cert --id b1 -o "$work/x"
check "delete public key" p11 --delete-object --type pubkey --id b1
check_fails "public key gone" "no public key with CKA_ID b1" bash -c "$(declare -p tool_env M); \
    $(declare -f tool p11_pubkey); p11_pubkey b1"
check "private key still signs" p11 --sign -m ECDSA-SHA256 --id b1 -i "$work/data" -o "$work/sig"
check "delete private key" p11 --delete-object --type privkey --id b1
check_fails "private key gone" "Private(/secret)? key not found" p11 --sign -m ECDSA-SHA256 --id b1 -i "$work/data" -o "$work/sig"
check "four store groups left" test "$(groups)" -eq 4
check "no key files left for it" test "$(find "$store" -name '*.key' | wc -l)" -eq 3

# data objects (CKO_DATA token objects): one store group each, written and read by separate
# pkcs11-tool processes, deleted whole
head -c 3000 /dev/urandom >"$work/blob"
check "write a data object" p11 --write-object "$work/blob" --type data --label cfg \
    --application-label devid-test
check "data object: a group with a value file" test "$(find "$store" -name '*.dat' | wc -l)" -eq 1
check "data object read back" p11 --read-object --type data --label cfg -o "$work/blob.back"
check "data object value" cmp "$work/blob" "$work/blob.back"
check_match "data object listed with its application" "application: +'devid-test'" \
    p11 --list-objects --type data
# (the 64 KiB limit is checked in p11-api: pkcs11-tool 0.23 writes at most 5000 bytes of a file)
check "delete the data object" p11 --delete-object --type data --label cfg
check_fails "data object gone" "object not found" p11 --read-object --type data --label cfg -o "$work/x"
check "no value file left" test "$(find "$store" -name '*.dat' | wc -l)" -eq 0
check "four store groups still" test "$(groups)" -eq 4

summary "pkcs11-store-$variant"
