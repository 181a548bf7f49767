# SPDX-License-Identifier: Apache-2.0
"""The TPM 2.0 structures the test EST server reads (TPM 2.0 Part 2, marshalled big-endian):
TPMT_PUBLIC (its attributes, key and name), a TPMS_ATTEST of type certify, and a
TPMT_SIGNATURE verified over it. Used by both attested exchanges: the factory role's
(est_attest_factory.py) and the owner CA's --require-attestation policy (est_attestation.py).
Every problem raises TpmError (a ValueError) saying what; the callers add where it came from.
"""

import hashlib
import struct

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

# TPMA_OBJECT bits (TPM 2.0 Part 2, 8.3)
FIXED_TPM, FIXED_PARENT, SENSITIVE_DATA_ORIGIN = 0x2, 0x10, 0x20
RESTRICTED, DECRYPT, SIGN = 0x10000, 0x20000, 0x40000
ALG_RSA, ALG_ECC, ALG_NULL = 0x0001, 0x0023, 0x0010
ALG_SHA256, ALG_SHA384, ALG_SHA512 = 0x000B, 0x000C, 0x000D
ALG_RSASSA, ALG_RSAPSS, ALG_ECDSA = 0x0014, 0x0016, 0x0018
HASHES = {ALG_SHA256: hashes.SHA256, ALG_SHA384: hashes.SHA384, ALG_SHA512: hashes.SHA512}
ECC_CURVES = {0x0003: ec.SECP256R1, 0x0004: ec.SECP384R1}
GENERATED_VALUE, ST_ATTEST_CERTIFY = 0xFF544347, 0x8017


class TpmError(ValueError):
    """A structure that does not parse, or a signature that does not verify."""


class BadSignature(TpmError):
    """A well-formed signature that does not verify with the key."""


class Reader:
    def __init__(self, data, what="TPM structure"):
        self.data, self.pos, self.what = data, 0, what

    def take(self, n):
        if self.pos + n > len(self.data):
            raise TpmError(f"truncated {self.what}")
        v = self.data[self.pos:self.pos + n]
        self.pos += n
        return v

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def tpm2b(self):
        return self.take(self.u16())

    def end(self):
        if self.pos != len(self.data):
            raise TpmError(f"{self.what}: trailing bytes")


def name_of(name_alg, data):
    """The TPM name of a marshalled public area: nameAlg || H_nameAlg(TPMT_PUBLIC)."""
    if name_alg not in HASHES:
        raise TpmError(f"nameAlg 0x{name_alg:04x} not supported")
    return struct.pack(">H", name_alg) + hashlib.new(HASHES[name_alg].name, data).digest()


def is_key_name(name):
    """Whether NAME is nameAlg || a digest of that size (a key's name, not a handle)."""
    alg = struct.unpack(">H", name[:2])[0] if len(name) >= 2 else None
    return alg in HASHES and len(name) == 2 + HASHES[alg].digest_size


class Public:
    """A TPMT_PUBLIC of an RSA or ECC key: type, name_alg, attrs, key and name."""

    def __init__(self, data):
        r = Reader(data, "TPMT_PUBLIC")
        self.type, self.name_alg, self.attrs = r.u16(), r.u16(), r.u32()
        r.tpm2b()                          # authPolicy
        if r.u16() != ALG_NULL:            # symmetric: keyBits, mode
            r.take(4)
        if r.u16() != ALG_NULL:            # scheme: its hash
            r.take(2)
        if self.type == ALG_RSA:
            bits, exponent = r.u16(), r.u32()
            n = int.from_bytes(r.tpm2b(), "big")
            r.end()
            if n.bit_length() != bits:
                raise TpmError("RSA modulus size is not keyBits")
            self.key = rsa.RSAPublicNumbers(exponent or 65537, n).public_key()
        elif self.type == ALG_ECC:
            curve = r.u16()
            if r.u16() != ALG_NULL:        # kdf: its hash
                r.take(2)
            x, y = r.tpm2b(), r.tpm2b()
            r.end()
            if curve not in ECC_CURVES:
                raise TpmError(f"TPM curve 0x{curve:04x} not supported")
            self.key = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"),
                                                     int.from_bytes(y, "big"),
                                                     ECC_CURVES[curve]()).public_key()
        else:
            raise TpmError(f"TPMT_PUBLIC of type 0x{self.type:04x} is no ECC or RSA key")
        self.name = name_of(self.name_alg, data)

    def has(self, bits):
        return self.attrs & bits == bits


class Certify:
    """A TPMS_ATTEST of type certify: signer (qualifiedSigner), extra (extraData), name and
    qualified (the certified key's name and qualified name)."""

    def __init__(self, data):
        r = Reader(data, "TPMS_ATTEST")
        magic, typ = r.u32(), r.u16()
        self.signer, self.extra = r.tpm2b(), r.tpm2b()
        r.take(17 + 8)                     # clockInfo, firmwareVersion
        if magic != GENERATED_VALUE or typ != ST_ATTEST_CERTIFY:
            raise TpmError("the TPMS_ATTEST is not a TPM-generated certification "
                           f"(magic 0x{magic:08x}, type 0x{typ:04x})")
        self.name, self.qualified = r.tpm2b(), r.tpm2b()
        r.end()


def verify_signature(key, signature, attest, hash_algs=tuple(HASHES)):
    """KEY's TPMT_SIGNATURE (ECDSA, RSASSA, RSAPSS; a hash of HASH_ALGS) over ATTEST."""
    r = Reader(signature, "TPMT_SIGNATURE")
    alg, halg = r.u16(), r.u16()
    if halg not in hash_algs:
        raise TpmError(f"TPMT_SIGNATURE hash 0x{halg:04x} not supported")
    h = HASHES[halg]()
    try:
        if alg == ALG_ECDSA and isinstance(key, ec.EllipticCurvePublicKey):
            sr, ss = r.tpm2b(), r.tpm2b()
            r.end()
            der = encode_dss_signature(int.from_bytes(sr, "big"), int.from_bytes(ss, "big"))
            key.verify(der, attest, ec.ECDSA(h))
        elif alg in (ALG_RSASSA, ALG_RSAPSS) and isinstance(key, rsa.RSAPublicKey):
            sig = r.tpm2b()
            r.end()
            pad = padding.PKCS1v15() if alg == ALG_RSASSA else padding.PSS(
                mgf=padding.MGF1(h), salt_length=padding.PSS.AUTO)
            key.verify(sig, attest, pad, h)
        else:
            raise TpmError(f"TPMT_SIGNATURE algorithm 0x{alg:04x} does not fit the signing key")
    except InvalidSignature:
        raise BadSignature("the signature does not verify with the signing key")
