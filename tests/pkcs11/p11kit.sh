#!/usr/bin/env bash
# The module registered with p11-kit the way devid installs it (p11-kit/devid.module.in, here
# pointing at the build tree), in a private user configuration: p11-kit list-modules,
# p11tool (GnuTLS) by pkcs11: URIs, signatures through GnuTLS, and the p11-kit proxy module.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
needs_unsanitized_tools "p11-kit and p11tool"

# p11-kit ignores user configuration for root; a user namespace makes root look like nobody
# while keeping its access to the fixture's files.
if [[ $(id -u) -eq 0 ]]; then
    if ! unshare -U true 2>/dev/null; then
        echo "SKIP: running as root without user namespaces: p11-kit ignores user config"
        exit 77
    fi
    user() { unshare -U "$@"; }
else
    user() { "$@"; }
fi
export HOME=$work/home
mods=$HOME/.config/pkcs11/modules
mkdir -p "$mods"
cp "${DEVID_P11KIT_MODULE_CONF:?}" "$mods/devid.module"
# Only devid and p11-kit's own trust module: other system modules stay out of the test.
for m in /usr/share/p11-kit/modules/*.module /etc/pkcs11/modules/*.module; do
    [[ -f $m && ${m##*/} != p11-kit-trust.module ]] || continue
    echo "disable-in: p11-kit p11tool gnutls-cli pkcs11-tool" >"$mods/${m##*/}"
done
kit() { user "${tool_env[@]}" "$@"; }

check_out "devid.module: module path" "^module: $M\$" cat "$mods/devid.module"
check_out "devid.module: not critical" '^critical: no$' cat "$mods/devid.module"
check_out "p11-kit list-modules" "^devid: $M" kit p11-kit list-modules
check_out "p11-kit list-modules: the token" 'token: DevID' kit p11-kit list-modules
check_out "p11tool --list-tokens" 'Label: DevID' kit p11tool --list-tokens
check_out "p11-kit proxy module" 'token label +: DevID' \
    kit pkcs11-tool --module "$(pkg-config --variable=proxy_module p11-kit-1)" --list-slots

kit p11tool --list-all 'pkcs11:token=DevID' >"$work/all" 2>/dev/null || true
count() { grep -c "Type: $1" "$work/all" || true; }
case $variant in
ecc | rsa) want="2 3 4" ;;
ek-only) want="0 1 1" ;;
*) want="0 0 0" ;;
esac
check "objects by type: $(count 'Private key') $(count 'Public key') $(count 'X.509')" \
    test "$(count 'Private key') $(count 'Public key') $(count 'X.509')" = "$want"

if [[ $variant == ecc || $variant == rsa ]]; then
    for ident in IDevID LDevID; do
        lc=$(tr 'A-Z' 'a-z' <<<"$ident")
        uri="pkcs11:token=DevID;object=$ident"
        check "$ident: certificate by URI" kit p11tool --export "$uri;type=cert" \
            --outfile "$work/$lc.pem"
        check "$ident: certificate value" cmp <(openssl x509 -in "$work/$lc.pem" -outform DER) \
            <(openssl x509 -in "$pki/$lc.pem" -outform DER)
        check "$ident: public key by URI" kit p11tool --export-pubkey "$uri;type=public" \
            --outfile "$work/$lc.pub"
        check "$ident: public key value" cmp "$work/$lc.pub" <(cert_pub "$pki/$lc.pem")
        check_out "$ident: GnuTLS signs and verifies" 'Verifying against public key in the token\.\.\. ok' \
            kit p11tool --test-sign "$uri;type=private"
    done
    check_out "CA certificate of the LDevID chain" 'LDevID-CA-1' kit p11tool --list-all-certs \
        'pkcs11:token=DevID'
fi

summary "pkcs11-p11kit-$variant"
