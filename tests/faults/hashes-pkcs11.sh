#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A TPM with SHA-1 and SHA-256 only (as many discrete TPM 2.0 chips are), made of swtpm by the
# devidfault TCTI's hash filter (hash_filter.c), seen through pkcs11-tool: the RSA mechanisms
# bound to SHA-384/SHA-512 are not listed (nor allowed for the IDevID); the sign-only IDevID refuses them at C_SignInit
# (CKR_MECHANISM_INVALID, never a device error); the LDevID, which allows raw RSA, signs with
# them (encoded in software) and openssl verifies; SHA-256/SHA-1 sign as before; the digest
# mechanisms (software) stay.
# usage (under with-swtpm rsa): hashes-pkcs11.sh LIBTSS2_TCTI_DEVIDFAULT
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../pkcs11/lib.sh"

export DEVID_TCTI="$1:$DEVID_TCTI" DEVID_FAULT_HASHES=sha1,sha256

p11 --list-mechanisms >"$work/mechs" 2>&1 || true
listed() { grep -qE "^ *$1[ ,]" "$work/mechs"; }
check "SHA256-RSA-PKCS listed" listed SHA256-RSA-PKCS
check "SHA1-RSA-PKCS-PSS listed" listed SHA1-RSA-PKCS-PSS
for m in SHA384-RSA-PKCS SHA512-RSA-PKCS SHA384-RSA-PKCS-PSS SHA512-RSA-PKCS-PSS; do
    check "$m not listed (the TPM lacks the hash)" bash -c "! grep -qE '^ *$m[ ,]' '$work/mechs'"
done
check "SHA512 digest listed (software)" listed SHA512
check "ECDSA-SHA512 listed (any digest)" listed ECDSA-SHA512

# CKA_ALLOWED_MECHANISMS says the same per key: the IDevID (sign only) has no SHA-384/512 RSA
# mechanism, the LDevID (raw RSA) has them.
p11 --list-objects --type privkey >"$work/privkeys" 2>&1 || true
allowed() { sed -n "/label: *$1\$/,/Allowed mechanisms/s/.*Allowed mechanisms: //p" "$work/privkeys"; }
check "IDevID allows SHA256-RSA-PKCS" grep -qw SHA256-RSA-PKCS <(allowed IDevID)
check "IDevID does not allow SHA512-RSA-PKCS or SHA384-RSA-PKCS-PSS" \
    bash -c "! grep -qE 'SHA512-RSA-PKCS|SHA384-RSA-PKCS-PSS' <<<'$(allowed IDevID)'"
check "LDevID allows SHA512-RSA-PKCS (raw RSA)" grep -qw SHA512-RSA-PKCS <(allowed LDevID)

head -c 1000 /dev/urandom >"$work/data"
check "SHA512 digest" cmp <(p11 --hash -m SHA512 -i "$work/data" -o /dev/stdout 2>/dev/null) \
    <(openssl dgst -sha512 -binary "$work/data")

digestinfo512() { # the DER DigestInfo of the data's SHA-512
    printf '\x30\x51\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x03\x05\x00\x04\x40'
    openssl dgst -sha512 -binary "$work/data"
}
digestinfo512 >"$work/digestinfo"

for ident in idevid ldevid; do
    id=$(cert_id "$pki/$ident.pem")
    cert_pub "$pki/$ident.pem" >"$work/$ident.pub"
    sign() { p11 --sign -m "$1" --id "$id" -i "$2" -o "$work/sig"; }
    verified() { # verified HASH [openssl options]: the last signature, by openssl
        local h=$1
        shift
        openssl dgst "-$h" "$@" -verify "$work/$ident.pub" -signature "$work/sig" "$work/data"
    }
    pss=(-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest)
    check "$ident: SHA256-RSA-PKCS" sign SHA256-RSA-PKCS "$work/data"
    check "$ident: SHA256-RSA-PKCS verified" verified sha256
    check "$ident: SHA1-RSA-PKCS-PSS" sign SHA1-RSA-PKCS-PSS "$work/data"
    check "$ident: SHA1-RSA-PKCS-PSS verified" verified sha1 "${pss[@]}"
    if [[ $ident == idevid ]]; then # sign-only: no raw RSA, so no SHA-384/512 here
        for m in SHA512-RSA-PKCS SHA384-RSA-PKCS-PSS; do
            check_fails "$ident: $m refused at C_SignInit" \
                "C_SignInit.*CKR_MECHANISM_INVALID" sign "$m" "$work/data"
        done
        check_fails "$ident: RSA-PKCS over a SHA-512 DigestInfo refused" \
            "C_Sign.*CKR_MECHANISM_INVALID" sign RSA-PKCS "$work/digestinfo"
    else # the LDevID allows raw RSA: the encoding is done in software
        check "$ident: SHA512-RSA-PKCS by raw RSA" sign SHA512-RSA-PKCS "$work/data"
        check "$ident: SHA512-RSA-PKCS verified" verified sha512
        check "$ident: SHA384-RSA-PKCS-PSS by raw RSA" sign SHA384-RSA-PKCS-PSS "$work/data"
        check "$ident: SHA384-RSA-PKCS-PSS verified" verified sha384 "${pss[@]}"
        check "$ident: RSA-PKCS over a SHA-512 DigestInfo" sign RSA-PKCS "$work/digestinfo"
        check "$ident: RSA-PKCS over a SHA-512 DigestInfo verified" verified sha512
    fi
done
# No operation above may end as a device or general error (an unmapped TPM refusal).
summary "tpm-hashes-pkcs11"
