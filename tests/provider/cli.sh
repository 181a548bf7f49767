#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The openssl command line with DevIDs: pkey -pubout / -text, pkeyutl -sign and dgst -sign
# (verified with the certificate's public key by OpenSSL alone), req -new (checked with
# req -verify), cms -sign (checked with cms -verify against the fixture's roots), storeutl.
# usage (under with-swtpm ecc|rsa): cli.sh
. "$(dirname "$0")/lib.sh"
cd "$work"
echo "some data to sign" >data
openssl dgst -sha256 -binary data >data.sha256
# RSA keys without the decrypt attribute cannot pad arbitrary data: say which digest it is.
md=()
[[ $(<"$DEVID_FIXTURE/variant") == rsa ]] && md=(-pkeyopt digest:sha256)

for obj in IDevID LDevID; do
    # the certificate and its public key, loaded through the provider
    # (pipefail and a parse of the result: a storeutl that dies mid-output fails here, with its
    # stderr shown, not later in a command that only sees a truncated file)
    check "$obj storeutl cert" bash -c "set -o pipefail; openssl storeutl ${PFIRST[*]} -certs 'devid:object=$obj;type=cert' | sed -n '/^-----BEGIN /,/^-----END /p' >$obj.pem && { openssl x509 -in $obj.pem -noout || { cat $obj.pem; false; }; }"
    openssl x509 -in $obj.pem -pubkey -noout >$obj.certpub.pem
    check "$obj pkey -pubout matches the certificate" \
        sh -c "openssl pkey ${PFIRST[*]} -in 'devid:object=$obj' -pubout -out $obj.pub.pem && cmp $obj.pub.pem $obj.certpub.pem"
    check "$obj type=public" \
        sh -c "openssl pkey ${PSECOND[*]} -pubin -in 'devid:object=$obj;type=public' -pubout | cmp - $obj.certpub.pem"
    check "$obj pkey -text says the key is in the TPM" \
        sh -c "openssl pkey ${PFIRST[*]} -in 'devid:object=$obj' -text -noout | grep -q 'private key: in the TPM'"
    check "$obj x509 -checkend / key matches cert (s_client style)" \
        sh -c "openssl x509 -in $obj.pem -noout -checkend 0"

    for order in PFIRST PSECOND; do
        declare -n P=$order
        check "$obj pkeyutl -sign (digest input) $order" \
            sh -c "openssl pkeyutl ${P[*]} -sign -inkey 'devid:object=$obj' ${md[*]} -in data.sha256 -out sig.$obj && openssl pkeyutl -verify -pubin -inkey $obj.certpub.pem ${md[*]} -in data.sha256 -sigfile sig.$obj"
        check "$obj pkeyutl -sign -rawin -digest sha384 $order" \
            sh -c "openssl pkeyutl ${P[*]} -sign -inkey 'devid:object=$obj' -rawin -digest sha384 -in data -out sig2.$obj && openssl pkeyutl -verify -pubin -inkey $obj.certpub.pem -rawin -digest sha384 -in data -sigfile sig2.$obj"
        check "$obj dgst -sha512 -sign $order" \
            sh -c "openssl dgst ${P[*]} -sha512 -sign 'devid:object=$obj' -out sig3.$obj data && openssl dgst -sha512 -verify $obj.certpub.pem -signature sig3.$obj data"
        check "$obj req -new + req -verify $order" \
            sh -c "openssl req ${P[*]} -new -key 'devid:object=$obj' -subj /CN=csr-$obj -out $obj.csr && openssl req -verify -in $obj.csr -noout && openssl req -in $obj.csr -pubkey -noout | cmp - $obj.certpub.pem"
        check "$obj cms -sign + cms -verify $order" \
            sh -c "openssl cms ${P[*]} -sign -binary -nodetach -signer $obj.pem -inkey 'devid:object=$obj' -in data -outform PEM -out $obj.cms && openssl cms -verify -inform PEM -in $obj.cms -CAfile '$trust' -purpose any -out cms.out && cmp cms.out data"
        unset -n P
    done
done

# RSA only: PSS with salt = digest length, verified by OpenSSL with that exact salt length.
if [[ $(<"$DEVID_FIXTURE/variant") == rsa ]]; then
    check "RSA-PSS pkeyutl sign (saltlen digest)" \
        sh -c "openssl pkeyutl ${PFIRST[*]} -sign -inkey devid:object=IDevID -in data.sha256 -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:digest -out pss.sig && openssl pkeyutl -verify -pubin -inkey IDevID.certpub.pem -in data.sha256 -sigfile pss.sig -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32"
    check "RSA-PSS dgst sign (default saltlen)" \
        sh -c "openssl dgst ${PFIRST[*]} -sha256 -sign devid:object=IDevID -sigopt rsa_padding_mode:pss -out pss2.sig data && openssl dgst -sha256 -verify IDevID.certpub.pem -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -signature pss2.sig data"
    # -4 = auto-digestmax, OpenSSL >= 3.1's default salt length for signing (3.0 has no name
    # for it: the provider takes it on both)
    for salt in -4 auto-digestmax; do
        check "RSA-PSS dgst sign (rsa_pss_saltlen:$salt)" \
            sh -c "openssl dgst ${PFIRST[*]} -sha256 -sign devid:object=IDevID -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:$salt -out pss4.sig data && openssl dgst -sha256 -verify IDevID.certpub.pem -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -signature pss4.sig data"
    done
    check "RSA-PSS CSR (req -sigopt, default saltlen) verifies" \
        sh -c "openssl req ${PFIRST[*]} -new -key devid:object=LDevID -subj /CN=pss -sigopt rsa_padding_mode:pss -out pss0.csr && openssl req -verify -in pss0.csr -noout && openssl req -in pss0.csr -text -noout | grep -q 'Salt Length: 0x20'"
    check "RSA-PSS CSR (req -sigopt) verifies" \
        sh -c "openssl req ${PFIRST[*]} -new -key devid:object=LDevID -subj /CN=pss -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -out pss.csr && openssl req -verify -in pss.csr -noout && openssl req -in pss.csr -text -noout | grep -q 'Salt Length: 0x20'"
    # A foreign RSA-1024 key (made here with tpm2-tools; devid itself makes 2048 bits and up):
    # PSS with SHA-512 cannot have a salt of the digest length (emLen 128 < 2 * 64 + 2), and
    # the TPM would sign with a shorter one than the AlgorithmIdentifier says: a clear error.
    make_rsa1024() { # (tpm2-tools without the sanitizer runtime an ASan build preloads)
        local t=(env -u LD_PRELOAD) attrs="fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign"
        "${t[@]}" tpm2_create -Q -C 0x81000001 -g sha256 -G rsa1024:null:null -a "$attrs" \
            -u k1024.pub -r k1024.priv &&
            "${t[@]}" tpm2_load -Q -C 0x81000001 -u k1024.pub -r k1024.priv -c k1024.ctx &&
            "${t[@]}" tpm2_evictcontrol -Q -C o -c k1024.ctx 0x81000020 &&
            "${t[@]}" tpm2_flushcontext -t &&
            "${t[@]}" tpm2_readpublic -Q -c 0x81000020 -f pem -o k1024.pem
    }
    check "an RSA-1024 key at 0x81000020 (tpm2-tools)" make_rsa1024
    check "RSA-1024 PSS with SHA-256 (default salt length) signs" \
        sh -c "openssl dgst ${PFIRST[*]} -sha256 -sign devid:handle=0x81000020 -sigopt rsa_padding_mode:pss -out k1024.sig data && openssl dgst -sha256 -verify k1024.pem -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -signature k1024.sig data"
    check_fails "RSA-1024 PSS with SHA-512 is refused" "RSA-1024 key too small for PSS with SHA2-512" \
        openssl dgst "${PFIRST[@]}" -sha512 -sign devid:handle=0x81000020 -sigopt rsa_padding_mode:pss -out /dev/null data
    cp "$work/check.log" k1024.err
    check "... saying why" sh -c "grep -q 'RSA-1024 key too small for PSS with SHA2-512' k1024.err || { cat k1024.err; false; }"
    check_fails "RSA-PSS saltlen max is refused" "TPM keys sign PSS with salt length = digest length" \
        openssl pkeyutl "${PFIRST[@]}" -sign -inkey devid:object=IDevID -in data.sha256 -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:max -out /dev/null
fi

# A certificate comes with its CA chain: the LDevID's chain file holds the leaf and the owner CA.
check "LDevID type=cert returns the chain" sh -c \
    "test \$(openssl storeutl ${PFIRST[*]} -certs 'devid:object=LDevID;type=cert' | grep -c 'BEGIN CERTIFICATE') -eq 2"
check "the chain verifies" sh -c \
    "openssl storeutl ${PFIRST[*]} -certs 'devid:object=LDevID;type=cert' | sed -n '/^-----BEGIN /,/^-----END /p' >chain.pem &&
     openssl verify -CAfile '$trust' -untrusted chain.pem LDevID.pem"

# handle= and id= address the same key.
check "handle= URI" sh -c "openssl pkey ${PFIRST[*]} -in 'devid:handle=0x81020000' -pubout | cmp - IDevID.certpub.pem"
id=$(openssl x509 -in IDevID.pem -noout -ext subjectKeyIdentifier 2>/dev/null | tail -1 | tr -d ' :\n' | sed 's/../%&/g')
if [[ -n $id ]]; then
    check "id= URI (percent-encoded key id)" sh -c "openssl pkey ${PFIRST[*]} -in 'devid:id=$id' -pubout | cmp - IDevID.certpub.pem"
    # a search for keys only compares the TPM identities' keys and reads none of their
    # certificates (no NV read: devid-enroll looks its keys up this way on every operation)
    DEVID_LOG=debug openssl pkey "${PFIRST[@]}" -in "devid:type=private;id=$id" -pubout \
        -out idpriv.pub.pem 2>idpriv.log
    check "type=private;id= finds the key" cmp idpriv.pub.pem IDevID.certpub.pem
    check "type=private;id= reads no certificate from NV" \
        bash -c "grep -q 'TPM command' idpriv.log && ! grep -E 'TPM command [0-9]+: Esys_NV_Read$' idpriv.log"
fi
# the key with an auth value: right PIN signs, wrong PIN is refused by the TPM
check "auth key with pin-value signs" \
    sh -c "openssl pkeyutl ${PFIRST[*]} -sign -inkey 'devid:handle=0x81000010?pin-value=devid-test-auth' ${md[*]} -in data.sha256 -out auth.sig && openssl pkeyutl ${PFIRST[*]} -verify -inkey 'devid:handle=0x81000010' ${md[*]} -in data.sha256 -sigfile auth.sig"
echo -n devid-test-auth >pin.txt
check "auth key with pin-source signs" \
    openssl pkeyutl "${PFIRST[@]}" -sign -inkey "devid:handle=0x81000010?pin-source=file:$work/pin.txt" "${md[@]}" -in data.sha256 -out auth2.sig
check_fails "auth key with a wrong pin fails" "wrong auth value or password" \
    openssl pkeyutl "${PFIRST[@]}" -sign -inkey 'devid:handle=0x81000010?pin-value=wrong' "${md[@]}" -in data.sha256 -out /dev/null

summary
