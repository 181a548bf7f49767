#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A TPM with SHA-1 and SHA-256 only (the devidfault TCTI's hash filter, hash_filter.c) through
# the devid provider: openssl dgst -sha512 -sign with the sign-only IDevID fails at init with a
# clear error; the LDevID (raw RSA allowed) signs and openssl verifies; TLS 1.2 and 1.3 client
# authentication against a server that prefers SHA-512 signature algorithms picks one the TPM
# can do, and with only SHA-512 ones offered the IDevID's handshake ends without a TPM error.
# usage (under with-swtpm rsa): hashes-provider.sh LIBTSS2_TCTI_DEVIDFAULT
. "$(dirname "$0")/../provider/lib.sh"

export DEVID_TCTI="$1:$DEVID_TCTI" DEVID_FAULT_HASHES=sha1,sha256
cd "$work"
head -c 1000 /dev/urandom >data
for obj in IDevID LDevID; do
    openssl x509 -in "$DEVID_FIXTURE/pki/${obj,,}.pem" -pubkey -noout >$obj.pub
done

signs() { # signs OBJECT HASH [sigopts]: openssl dgst -sign with the TPM key, verified by openssl
    local obj=$1 h=$2
    shift 2
    openssl dgst "${PFIRST[@]}" "-$h" -sign "devid:object=$obj" "$@" -out sig data &&
        openssl dgst "-$h" -verify $obj.pub "$@" -signature sig data
}
pss=(-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest)
for obj in IDevID LDevID; do
    check "$obj dgst -sha256 -sign" signs $obj sha256
    check "$obj dgst -sha1 -sign (PSS)" signs $obj sha1 "${pss[@]}"
done
check_fails "IDevID dgst -sha512 -sign refused at init" "TPM does not implement SHA512" \
    signs IDevID sha512
check_fails "IDevID dgst -sha384 -sign (PSS) refused at init" "TPM does not implement SHA384" \
    signs IDevID sha384 "${pss[@]}"
check "LDevID dgst -sha512 -sign (raw RSA)" signs LDevID sha512
check "LDevID dgst -sha384 -sign (PSS, raw RSA)" signs LDevID sha384 "${pss[@]}"

# TLS client authentication: the server asks for SHA-512 signatures first.
make_server_cert ec
start_s_server "$work/srv.log" -cert "$work/srv.pem" -key "$work/srv.key" -Verify 1 \
    -CAfile "$trust" -verify_return_error \
    -client_sigalgs rsa_pss_rsae_sha512:rsa_pkcs1_sha512:rsa_pss_rsae_sha256:rsa_pkcs1_sha256
handshake() { # handshake TLS-VERSION OBJECT
    local out
    out=$(echo Q | openssl s_client "${PFIRST[@]}" -connect "127.0.0.1:$port" "$1" \
        -key "devid:object=$2" -cert "devid:object=$2;type=cert" -CAfile "$work/srv.pem" \
        -verify_return_error 2>&1) || { echo "$out"; return 1; }
    echo "$out"
    grep -q "^New, TLSv1" <<<"$out"
}
for v in -tls1_2 -tls1_3; do
    for obj in IDevID LDevID; do
        check "$obj ${v#-}, SHA-512 preferred by the server" handshake $v $obj
    done
done
check "the server verified the four client certificates" \
    test "$(grep -c '^verify return:1' "$work/srv.log" || true)" -eq 8
start_s_server "$work/srv512.log" -cert "$work/srv.pem" -key "$work/srv.key" -Verify 1 \
    -CAfile "$trust" -verify_return_error -client_sigalgs rsa_pss_rsae_sha512:rsa_pkcs1_sha512
# The IDevID can sign none of these: the client sends no certificate (the server refuses it
# then), rather than fail in the TPM.
no_tpm_error() { # no_tpm_error TLS-VERSION OBJECT
    local out
    out=$(handshake "$1" "$2" 2>&1) || true
    echo "$out"
    ! grep -qE ':devid:|TPM2_|TPM_RC' <<<"$out"
}
for v in -tls1_2 -tls1_3; do
    check "IDevID ${v#-}, only SHA-512 offered: no TPM error" no_tpm_error $v IDevID
    check "LDevID ${v#-}, only SHA-512 offered (raw RSA)" handshake $v LDevID
done
check "IDevID sent no certificate (twice)" \
    test "$(grep -c 'peer did not return a certificate' "$work/srv512.log")" -eq 2
summary "tpm-hashes-provider"
