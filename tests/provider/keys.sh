#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Store keys through the provider: generation (openssl genpkey -pkeyopt devid-label), RSA
# decryption (OAEP, PKCS#1 v1.5) and ECDH in the TPM checked against software peers, key
# passwords (auth values), and bad input: corrupted key files, wrong passwords, bad reference
# files. Every failure must be a clean error, never a crash.
# usage (under with-swtpm ecc): keys.sh
. "$(dirname "$0")/lib.sh"
cd "$work"
P=("${PFIRST[@]}")
echo "a secret message" >msg

# --- RSA decryption in the TPM ---
check "genpkey RSA decrypt key" openssl genpkey "${P[@]}" -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -pkeyopt devid-label:rsa-dec -pkeyopt devid-decrypt:1 -out rsa.pem
openssl pkey "${P[@]}" -in rsa.pem -pubout -out rsa.pub
for pad in oaep pkcs1; do
    opts=(-pkeyopt "rsa_padding_mode:$pad")
    [[ $pad == oaep ]] && opts+=(-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256)
    check "RSA $pad: software encrypts, TPM decrypts" sh -c \
        "openssl pkeyutl -encrypt -pubin -inkey rsa.pub ${opts[*]} -in msg -out msg.$pad &&
         openssl pkeyutl ${P[*]} -decrypt -inkey rsa.pem ${opts[*]} -in msg.$pad -out msg.$pad.out &&
         cmp msg msg.$pad.out"
done
# TPM OAEP labels carry a terminating zero octet that OpenSSL's labels do not: refused.
openssl pkeyutl -encrypt -pubin -inkey rsa.pub -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_label:0102 -in msg -out msg.lbl
check_fails "OAEP with a label is refused" \
    "OAEP labels are not supported by TPM decryption" \
    openssl pkeyutl "${P[@]}" -decrypt -inkey rsa.pem -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_label:0102 -in msg.lbl -out /dev/null
check "the TPM still decrypts afterwards" sh -c \
    "openssl pkeyutl ${P[*]} -decrypt -inkey rsa.pem -pkeyopt rsa_padding_mode:pkcs1 -in msg.pkcs1 | cmp - msg"
check "the decrypt key also signs (PSS)" sh -c \
    "openssl dgst ${P[*]} -sha256 -sign rsa.pem -sigopt rsa_padding_mode:pss -out pss.sig msg &&
     openssl dgst -sha256 -verify rsa.pub -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -signature pss.sig msg"
check_fails "decrypting with a sign-only key fails" \
    "operation not supported for this keytype" \
    openssl pkeyutl "${P[@]}" -decrypt -inkey devid:object=IDevID -in msg.pkcs1 -out /dev/null

# --- ECDH in the TPM ---
check "genpkey EC ECDH key" openssl genpkey "${P[@]}" -algorithm EC -pkeyopt group:P-256 \
    -pkeyopt devid-label:ec-dh -pkeyopt devid-decrypt:1 -out ecdh.pem
openssl pkey "${P[@]}" -in ecdh.pem -pubout -out ecdh.pub
openssl genpkey -algorithm EC -pkeyopt group:P-256 -out peer.key
openssl pkey -in peer.key -pubout -out peer.pub
check "ECDH: TPM and software derive the same secret" sh -c \
    "openssl pkeyutl ${P[*]} -derive -inkey ecdh.pem -peerkey peer.pub -out z.tpm &&
     openssl pkeyutl -derive -inkey peer.key -peerkey ecdh.pub -out z.sw && cmp z.tpm z.sw && test -s z.tpm"
check_fails "ECDH with a sign-only key fails" \
    "is not an ECDH \(decrypt\) key" \
    openssl pkeyutl "${P[@]}" -derive -inkey devid:object=IDevID -peerkey peer.pub -out /dev/null

# --- key passwords (auth values) ---
check "genpkey with a password" openssl genpkey "${P[@]}" -algorithm EC -pkeyopt group:P-256 \
    -pkeyopt devid-label:with-auth -pkeyopt devid-auth:s3cret -out auth.pem
openssl pkey "${P[@]}" -in auth.pem -passin pass:s3cret -pubout -out auth.pub
check "right password signs" sh -c \
    "openssl dgst ${P[*]} -sha256 -sign auth.pem -passin pass:s3cret -out auth.sig msg &&
     openssl dgst -sha256 -verify auth.pub -signature auth.sig msg"
check_fails "wrong password is refused" "wrong auth value or password" \
    openssl dgst "${P[@]}" -sha256 -sign auth.pem -passin pass:wrong -out /dev/null msg
check_fails "no password is refused" "wrong auth value or password" \
    openssl dgst "${P[@]}" -sha256 -sign auth.pem -passin pass: -out /dev/null msg

# --- bad input ---
good=$(sed -n '2p' ecdh.pem)
{ echo "-----BEGIN TSS2 PRIVATE KEY-----"; echo "${good:0:40}"; echo "-----END TSS2 PRIVATE KEY-----"; } >trunc.pem
{ echo "-----BEGIN TSS2 PRIVATE KEY-----"; echo "MIIBAgYGZ2FyYmFnZQ=="; echo "-----END TSS2 PRIVATE KEY-----"; } >garbage.pem
sed '2s/^..../AAAA/' ecdh.pem >flipped.pem
head -c 300 ecdh.pem >cut.pem
head -c 4000 /dev/urandom >random.bin
printf 'devid:object=NoSuchKey\n' >missing.ref
printf 'devid:object=IDevID;bogus=1\n' >badattr.ref
printf 'devid:object=IDevID\ndevid:object=LDevID\n' >tworefs.ref
for f in trunc.pem garbage.pem flipped.pem cut.pem random.bin missing.ref badattr.ref tworefs.ref; do
    check_fails "bad key file $f is an error" "Could not (read key|find private key of key) from $f" \
        openssl pkey "${P[@]}" -in "$f" -pubout -out /dev/null
    check_fails "bad key file $f is an error (s_client-style PEM read)" \
        "Could not (read|find) private key from $f" \
        openssl dgst "${P[@]}" -sha256 -sign "$f" -keyform PEM -out /dev/null msg
done

summary
