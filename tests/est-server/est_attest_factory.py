# SPDX-License-Identifier: Apache-2.0
"""The factory role's EK-attested enrollment (docs/factory.md, "The attested exchange"):
attest-nonce hands out single-use nonces; attest-enroll checks the evidence (EK certificate
up to a TPM vendor CA, the IAK's and IDevID's attributes, the IAK's TPM2_Certify of the
IDevID over the nonce, the CSR's key) and answers with the IAK and IDevID certificates
sealed (AES-256-GCM) under a credential made by TPM2_MakeCredential for that EK and the
IAK's name (TPM 2.0 Part 1, 24: "Credential Protection"), written here with
python3-cryptography, for RSA EKs (RSA-OAEP) and ECC EKs (ECDH and KDFe).
"""

import datetime
import hashlib
import hmac
import os
import struct
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import est_der as der  # beside this file
import est_tpm as tpm  # beside this file

NONCE_LEN = 32
NONCE_LIFETIME = 300  # seconds
FAULTS = ("other-ek", "other-iak", "wrong-iak-cert")



class Refused(Exception):
    """An answer other than 200: (HTTP status, message)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


# --- DER (the request is a SEQUENCE of an INTEGER and OCTET STRINGs) ------------


REQUEST_FIELDS = ("nonce", "ek_cert", "iak_public", "idevid_public", "certify_info",
                  "certify_signature", "csr")


def parse_request(body):
    tag, start, end = der.read(body, 0)
    if tag != 0x30 or end != len(body):
        raise ValueError("not one DER SEQUENCE")
    items = der.children(body, start, end)
    if len(items) != 1 + len(REQUEST_FIELDS):
        raise ValueError(f"{len(items)} elements in the SEQUENCE, not {1 + len(REQUEST_FIELDS)}")
    (tag, vs, ve, _), fields = items[0], {}
    if tag != 0x02 or body[vs:ve] != b"\x00":
        raise ValueError("version is not INTEGER 0")
    for name, (tag, cs, ce, _) in zip(REQUEST_FIELDS, items[1:]):
        if tag != 0x04:
            raise ValueError(f"{name} is not an OCTET STRING")
        fields[name] = body[cs:ce]
    return fields


def encode_response(blob, secret, iv, sealed):
    return der.tlv(0x30, der.tlv(0x02, b"\x00") + der.tlv(0x04, blob) + der.tlv(0x04, secret) +
                   der.tlv(0x04, iv) + der.tlv(0x04, sealed))


def encode_certs(iak_cert, idevid_cert, chain):
    d = [c.public_bytes(serialization.Encoding.DER) for c in [iak_cert, idevid_cert] + chain]
    return der.tlv(0x30, d[0] + d[1] + der.tlv(0x30, b"".join(d[2:])))


# --- TPM structures (est_tpm.py) ---------------------------------------------------


def public_of(data):
    """The Public of a key sent: RSA or ECC, SHA-256 name algorithm (as the TCG templates)."""
    pub = tpm.Public(data)
    if pub.name_alg != tpm.ALG_SHA256:
        raise tpm.TpmError("nameAlg is not SHA-256")
    return pub


# --- TPM2_MakeCredential (TPM 2.0 Part 1, 24; Part 3, 12.6) ------------------------


def kdfa(key, label, context_u, context_v, bits):
    out, i = b"", 1
    while len(out) * 8 < bits:
        out += hmac.new(key, struct.pack(">I", i) + label + b"\x00" + context_u + context_v +
                        struct.pack(">I", bits), hashlib.sha256).digest()
        i += 1
    return out[:bits // 8]


def kdfe(z, label, party_u, party_v, bits):
    out, i = b"", 1
    while len(out) * 8 < bits:
        out += hashlib.sha256(struct.pack(">I", i) + z + label + b"\x00" + party_u +
                              party_v).digest()
        i += 1
    return out[:bits // 8]


def ecc_seed(ek_public):
    """(seed, the ephemeral point as TPMS_ECC_POINT): ECDH with an ephemeral key, KDFe
    (TPM 2.0 Part 1, C.6.1 and 11.4.10.3), label IDENTITY."""
    size = (ek_public.curve.key_size + 7) // 8
    eph = ec.generate_private_key(ek_public.curve)
    z = eph.exchange(ec.ECDH(), ek_public)
    qe, qs = eph.public_key().public_numbers(), ek_public.public_numbers()
    ex, ey = qe.x.to_bytes(size, "big"), qe.y.to_bytes(size, "big")
    seed = kdfe(z, b"IDENTITY", ex, qs.x.to_bytes(size, "big"), 256)
    return seed, struct.pack(">H", size) + ex + struct.pack(">H", size) + ey


def make_credential(ek_public, name, credential):
    """(TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET) for an EK of the TCG default templates
    (RSA 2048 or ECC P-256; SHA-256 name algorithm, AES-128-CFB symmetric)."""
    if isinstance(ek_public, rsa.RSAPublicKey):
        seed = os.urandom(32)
        secret = ek_public.encrypt(seed, padding.OAEP(
            mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
            label=b"IDENTITY\x00"))
    elif isinstance(ek_public, ec.EllipticCurvePublicKey):
        seed, secret = ecc_seed(ek_public)
    else:
        raise Refused(400, "the EK is neither RSA nor EC")
    sym = kdfa(seed, b"STORAGE", name, b"", 128)
    enc = Cipher(algorithms.AES(sym), modes.CFB(b"\x00" * 16)).encryptor()
    enc_identity = enc.update(struct.pack(">H", len(credential)) + credential) + enc.finalize()
    hmac_key = kdfa(seed, b"INTEGRITY", b"", b"", 256)
    outer = hmac.new(hmac_key, enc_identity + name, hashlib.sha256).digest()
    blob = struct.pack(">H", len(outer)) + outer + enc_identity
    return struct.pack(">H", len(blob)) + blob, struct.pack(">H", len(secret)) + secret


# --- the factory role -----------------------------------------------------------------


class AttestFactory:
    def __init__(self, vendor_certs, fault=None):
        self.vendor_certs = vendor_certs
        self.fault = fault
        self.nonces = {}
        self.lock = threading.Lock()

    def new_nonce(self):
        nonce = os.urandom(NONCE_LEN)
        now = time.monotonic()
        with self.lock:
            self.nonces = {n: t for n, t in self.nonces.items() if now - t < NONCE_LIFETIME}
            self.nonces[nonce] = now
        return nonce

    def take_nonce(self, nonce):
        with self.lock:
            issued = self.nonces.pop(nonce, None)
        if issued is None or time.monotonic() - issued >= NONCE_LIFETIME:
            raise Refused(403, "the nonce is not one this server issued, or it was used "
                          "already or has expired (replayed request?)")

    def check_ek(self, der_cert, signed_by, lock):
        try:
            cert = x509.load_der_x509_certificate(der_cert)
        except ValueError as e:
            raise Refused(400, f"the EK certificate does not parse: {e}")
        now = datetime.datetime.utcnow()
        with lock:
            if not any(signed_by(cert, v) for v in self.vendor_certs):
                raise Refused(403, "the EK certificate is not issued by a trusted TPM vendor "
                              "CA (" + cert.issuer.rfc4514_string() + ")")
            if not cert.not_valid_before <= now <= cert.not_valid_after:
                raise Refused(403, "the EK certificate is outside its validity period")
            return cert.public_key()

    def verify(self, body, signed_by, lock):
        """The request's checks, in order; returns (EK key, IAK Public, CSR)."""
        try:
            f = parse_request(body)
        except ValueError as e:
            raise Refused(400, f"not an AttestEnrollRequest: {e}")
        ek_key = self.check_ek(f["ek_cert"], signed_by, lock)
        try:
            iak, idevid = public_of(f["iak_public"]), public_of(f["idevid_public"])
        except tpm.TpmError as e:
            raise Refused(400, f"a public area does not parse: {e}")
        fixed = tpm.FIXED_TPM | tpm.FIXED_PARENT | tpm.SENSITIVE_DATA_ORIGIN
        if not iak.has(fixed | tpm.RESTRICTED | tpm.SIGN) or iak.attrs & tpm.DECRYPT:
            raise Refused(403, "the IAK is not a restricted signing key with fixedTPM, "
                          f"fixedParent and sensitiveDataOrigin (attributes 0x{iak.attrs:08x})")
        if not idevid.has(fixed | tpm.SIGN) or idevid.attrs & (tpm.RESTRICTED | tpm.DECRYPT):
            raise Refused(403, "the IDevID key is not an unrestricted signing key with "
                          "fixedTPM, fixedParent and sensitiveDataOrigin (attributes "
                          f"0x{idevid.attrs:08x}): not a key generated in and bound to a TPM")
        try:
            tpm.verify_signature(iak.key, f["certify_signature"], f["certify_info"],
                                 hash_algs=(tpm.ALG_SHA256,))
            certify = tpm.Certify(f["certify_info"])
        except tpm.TpmError as e:
            raise Refused(403, f"the IAK's certification does not verify: {e}")
        if certify.extra != f["nonce"]:
            raise Refused(403, "the certification's qualifying data is not the request's nonce")
        if certify.name != idevid.name:
            raise Refused(403, "the certification is over another key than the IDevID public "
                          "area sent")
        try:
            csr = x509.load_der_x509_csr(f["csr"])
            same = csr.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            ) == idevid.key.public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
            valid = csr.is_signature_valid
        except ValueError as e:
            raise Refused(400, f"the CSR does not parse: {e}")
        if not same:
            raise Refused(403, "the CSR's key is not the certified IDevID key")
        if not valid:
            raise Refused(400, "the CSR signature does not verify")
        self.take_nonce(f["nonce"])
        return ek_key, iak, csr, f["nonce"]

    def answer(self, ek_key, iak, nonce, iak_cert, idevid_cert, chain):
        name = iak.name
        if self.fault == "other-ek" and isinstance(ek_key, rsa.RSAPublicKey):
            ek_key = rsa.generate_private_key(65537, 2048).public_key()  # another TPM's EK
        elif self.fault == "other-ek":
            ek_key = ec.generate_private_key(ek_key.curve).public_key()
        elif self.fault == "other-iak":  # ... for a key of another name: another TPM's IAK
            name = name[:2] + hashlib.sha256(b"another TPM's IAK" + name).digest()
        credential = os.urandom(32)
        blob, secret = make_credential(ek_key, name, credential)
        iv = os.urandom(12)
        sealed = AESGCM(credential).encrypt(iv, encode_certs(iak_cert, idevid_cert, chain), nonce)
        return encode_response(blob, secret, iv, sealed)
