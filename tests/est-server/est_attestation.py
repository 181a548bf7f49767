# SPDX-License-Identifier: Apache-2.0
"""The owner CA's --require-attestation policy: a CSR must carry TPM evidence for its key.

The evidence is the PKCS#10 attribute of draft-ietf-lamps-csr-attestation, id-aa-evidence
(1.2.840.113549.1.9.16.2.59), as devid-enroll writes it (docs/enrollment.md, "Attested
requests"): EvidenceBundles with a tcg-attest-tpm-certify (2.23.133.20.1) statement
SEQUENCE { TPMS_ATTEST, TPMT_SIGNATURE, TPMT_PUBLIC } (OCTET STRINGs, marshalled) and the
IAK certificate followed by its chain. verify() checks, and says in its exception why not:

  - the IAK certificate chains to one of the given roots (signatures, validity, CA flags);
  - the IAK certificate itself is within its validity period, is no CA certificate, and has
    a keyUsage extension that allows digitalSignature (the TCG profile of IAK certificates);
  - the IAK certificate's key signed the TPMS_ATTEST (TPMT_SIGNATURE: ECDSA, RSASSA, RSAPSS);
  - it is a TPM-generated certification (magic, type), its extraData is SHA-256 over the
    CSR's DER SubjectPublicKeyInfo and DER subject;
  - its qualifiedSigner is the qualified name of a key (nameAlg || digest of that size, not a
    handle as an unsigned attestation has) and not the certified key's qualified name (the
    IAK did not certify itself); the CSR's key is not the IAK certificate's key;
  - the certified name is nameAlg || H_nameAlg(TPMT_PUBLIC) of the included public area;
  - that public area has fixedTPM and fixedParent, and its key is the CSR's key.

What is not checked, and why:
  - qualifiedSigner against the IAK certificate: a TPM name hashes the IAK's whole
    TPMT_PUBLIC (objectAttributes, authPolicy, scheme, parameters), which the certificate does
    not carry, and the qualified name also hashes the names of the IAK's parents up to its
    hierarchy. Only a CA that assumes the device's exact IAK template and hierarchy could
    rebuild it. What binds the evidence to the certified IAK is the signature verifying with
    the certificate's key; the TPM-generated magic is trustworthy because the OEM certified
    that key as a restricted signing key of a TPM (it cannot sign outside data that starts
    with it).
  - revocation of the IAK certificate (or its CAs): this test server is given no CRL or OCSP
    source of the OEM; a production CA would check the IAK certificate's status there too.

Plain DER (est_der.py) and TPM (est_tpm.py) parsing in the standard library, so it runs
with python3-cryptography 38 (Debian 12), which cannot read such attribute values or verify chains.
"""

import datetime
import hashlib

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

import est_der  # beside this file
import est_tpm  # beside this file

ID_AA_EVIDENCE = bytes.fromhex("2a864886f70d010910023b")   # 1.2.840.113549.1.9.16.2.59
TCG_ATTEST_TPM_CERTIFY = bytes.fromhex("6781051401")       # 2.23.133.20.1


class Refused(Exception):
    """The CSR does not satisfy the policy; the message says why."""


# -- DER -------------------------------------------------------------------------------------

def csr_parts(csr_der):
    """(raw subject DER, raw SPKI DER, [(oid bytes, raw SET content)]) of a PKCS#10 request."""
    _, s, e = est_der.read(csr_der, 0)
    tag, cs, ce = est_der.read(csr_der, s)           # CertificationRequestInfo
    kids = est_der.children(csr_der, cs, ce)
    if tag != 0x30 or len(kids) < 3:
        raise Refused("malformed CSR")
    subject = csr_der[kids[1][3]:kids[1][2]]
    spki = csr_der[kids[2][3]:kids[2][2]]
    attrs = []
    if len(kids) > 3 and kids[3][0] == 0xA0:
        for t, a, b, _ in est_der.children(csr_der, kids[3][1], kids[3][2]):
            parts = est_der.children(csr_der, a, b)
            if t != 0x30 or len(parts) != 2 or parts[0][0] != 0x06 or parts[1][0] != 0x31:
                raise Refused("malformed CSR attribute")
            attrs.append((csr_der[parts[0][1]:parts[0][2]], csr_der[parts[1][1]:parts[1][2]]))
    return subject, spki, attrs


def parse_evidence(value):
    """(attest, signature, public, [certificate DER]) from one attribute value."""
    _, s, e = est_der.read(value, 0)
    for _, bs, be, _ in est_der.children(value, s, e):           # EvidenceBundle
        parts = est_der.children(value, bs, be)
        if not parts or parts[0][0] != 0x30:
            raise Refused("malformed EvidenceBundle")
        certs = []
        if len(parts) > 1:
            certs = [value[t0:ce]
                     for _, _, ce, t0 in est_der.children(value, parts[1][1], parts[1][2])]
        for _, ss, se, _ in est_der.children(value, parts[0][1], parts[0][2]):   # statements
            st = est_der.children(value, ss, se)
            if len(st) < 2 or st[0][0] != 0x06:
                raise Refused("malformed EvidenceStatement")
            if value[st[0][1]:st[0][2]] != TCG_ATTEST_TPM_CERTIFY:
                continue
            f = est_der.children(value, st[1][1], st[1][2])
            if st[1][0] != 0x30 or len(f) != 3 or any(x[0] != 0x04 for x in f):
                raise Refused("the tcg-attest-tpm-certify statement is not "
                              "SEQUENCE { OCTET STRING x3 } (devid includes the public area)")
            return (*(value[x[1]:x[2]] for x in f), certs)
    raise Refused("the evidence attribute has no tcg-attest-tpm-certify statement")


# -- TPM structures (est_tpm.py), refusals in this policy's words -----------------------------

def parse_attest(data):
    """(extraData, certified name) of the TPMS_ATTEST, after the qualifiedSigner checks."""
    try:
        c = est_tpm.Certify(data)
    except est_tpm.TpmError as e:
        raise Refused(str(e))
    check_signer_name(c.signer, c.qualified)
    return c.extra, c.name


def check_signer_name(signer, certified):
    """What can be checked of qualifiedSigner without the IAK's public area (module doc)."""
    if not est_tpm.is_key_name(signer):
        raise Refused("the certification's qualifiedSigner is not the qualified name of a key "
                      f"({signer.hex() or 'empty'})")
    if signer == certified:
        raise Refused("the certification's signer is the certified key (the IAK certified "
                      "itself)")


def verify_tpm_signature(key, signature, attest):
    try:
        est_tpm.verify_signature(key, signature, attest)
    except est_tpm.BadSignature:
        raise Refused("the certification's signature does not verify with the IAK "
                      "certificate's key")
    except est_tpm.TpmError as e:
        raise Refused(f"the certification's signature, for the IAK certificate's key: {e}")


def public_of(data):
    try:
        return est_tpm.Public(data)
    except est_tpm.TpmError as e:
        raise Refused(f"the attested key's public area: {e}")


# -- certificates ----------------------------------------------------------------------------

def _issued_by(cert, issuer):
    if cert.issuer.public_bytes() != issuer.subject.public_bytes():
        return False
    key = issuer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                       cert.signature_hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes,
                       ec.ECDSA(cert.signature_hash_algorithm))
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _is_ca(cert):
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _valid_now(cert, now):
    before = cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)
    after = cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return before <= now <= after


def check_iak_certificate(cert, now):
    """The IAK certificate as an end-entity signing certificate, valid now."""
    if now > cert.not_valid_after.replace(tzinfo=datetime.timezone.utc):
        raise Refused(f"the IAK certificate expired on {cert.not_valid_after:%Y-%m-%d %H:%M:%S} "
                      "UTC")
    if now < cert.not_valid_before.replace(tzinfo=datetime.timezone.utc):
        raise Refused("the IAK certificate is not valid before "
                      f"{cert.not_valid_before:%Y-%m-%d %H:%M:%S} UTC")
    if _is_ca(cert):
        raise Refused("the IAK certificate is a CA certificate")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise Refused("the IAK certificate has no keyUsage (digitalSignature required)")
    if not usage.digital_signature:
        raise Refused("the IAK certificate's keyUsage does not allow digitalSignature")


def verify_chain(cert_ders, roots):
    """The IAK certificate (first) chains to a root through the others. Returns it."""
    if not cert_ders:
        raise Refused("the evidence carries no IAK certificate")
    try:
        certs = [x509.load_der_x509_certificate(d) for d in cert_ders]
    except ValueError as e:
        raise Refused(f"a certificate of the evidence does not parse: {e}")
    now = datetime.datetime.now(datetime.timezone.utc)
    check_iak_certificate(certs[0], now)
    cur, pool = certs[0], certs[1:]
    for _ in range(8):
        if not _valid_now(cur, now):
            raise Refused(f"certificate {cur.subject.rfc4514_string()!r} of the IAK chain is "
                          "expired or not yet valid")
        for root in roots:
            if _issued_by(cur, root) and _valid_now(root, now):
                return certs[0]
        nxt = next((c for c in pool if _is_ca(c) and _issued_by(cur, c)), None)
        if nxt is None:
            raise Refused("the IAK certificate does not chain to the OEM root (issuer "
                          f"{certs[0].issuer.rfc4514_string()!r})")
        pool.remove(nxt)
        cur = nxt
    raise Refused("the IAK chain is too long")


# -- the policy ------------------------------------------------------------------------------

def verify(csr_der, csr_public_key, roots):
    """Checks the CSR's evidence; returns a short description, raises Refused."""
    try:
        subject, spki, attrs = csr_parts(csr_der)
        values = [v for oid, v in attrs if oid == ID_AA_EVIDENCE]
        if not values:
            raise Refused("attestation required: the CSR has no evidence attribute "
                          "(id-aa-evidence, 1.2.840.113549.1.9.16.2.59)")
        if len(values) > 1:
            raise Refused("more than one evidence attribute")
        attest, signature, public, cert_ders = parse_evidence(values[0])
    except est_der.DerError as e:
        raise Refused(f"malformed DER: {e}")
    iak_cert = verify_chain(cert_ders, roots)
    verify_tpm_signature(iak_cert.public_key(), signature, attest)
    extra, name = parse_attest(attest)
    if extra != hashlib.sha256(spki + subject).digest():
        raise Refused("the certification's qualifying data is not SHA-256 of this CSR's "
                      "SubjectPublicKeyInfo and subject (evidence made for another request)")
    pub = public_of(public)
    key = pub.key
    if name != pub.name:
        raise Refused("the certified name is not the name of the included public area")
    if not pub.has(est_tpm.FIXED_TPM | est_tpm.FIXED_PARENT):
        raise Refused("the attested key is not fixedTPM and fixedParent")
    if key.public_numbers() != csr_public_key.public_numbers():
        raise Refused("the attested key is not the CSR's key")
    if key.public_numbers() == iak_cert.public_key().public_numbers():
        raise Refused("the CSR's key is the IAK")
    return f"TPM2_Certify by IAK {iak_cert.subject.rfc4514_string()}"
