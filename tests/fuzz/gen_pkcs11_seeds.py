#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpus of fuzz_pkcs11_template (tests/fuzz/corpus/pkcs11_template/) in the
target's input format (see fuzz_pkcs11_template.c). usage: gen_pkcs11_seeds.py CERT.der OUTDIR
CERT.der: any X.509 certificate (the seeds import it as a store certificate)."""
import struct
import sys

# the order of `types` in fuzz_pkcs11_template.c
TYPES = """CLASS TOKEN PRIVATE LABEL APPLICATION VALUE OBJECT_ID CERTIFICATE_TYPE ISSUER SERIAL_NUMBER
TRUSTED CERTIFICATE_CATEGORY CHECK_VALUE KEY_TYPE SUBJECT ID SENSITIVE ENCRYPT DECRYPT WRAP UNWRAP
SIGN SIGN_RECOVER VERIFY VERIFY_RECOVER DERIVE START_DATE END_DATE MODULUS MODULUS_BITS
PUBLIC_EXPONENT PRIVATE_EXPONENT VALUE_LEN EXTRACTABLE LOCAL NEVER_EXTRACTABLE ALWAYS_SENSITIVE
KEY_GEN_MECHANISM MODIFIABLE COPYABLE DESTROYABLE EC_PARAMS EC_POINT ALWAYS_AUTHENTICATE
WRAP_WITH_TRUSTED ALLOWED_MECHANISMS PUBLIC_KEY_INFO HASH_OF_SUBJECT_PUBLIC_KEY
HASH_OF_ISSUER_PUBLIC_KEY URL NAME_HASH_ALGORITHM UNIQUE_ID""".split()
T = {name: i for i, name in enumerate(TYPES)}
CKO_CERTIFICATE, CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKO_SECRET_KEY = 1, 2, 3, 4
CKK_EC, CKK_RSA, CKK_GENERIC_SECRET = 3, 0, 0x10
P256 = bytes.fromhex("06082a8648ce3d030107")
P384 = bytes.fromhex("06052b81040022")

def ul(v):
    return struct.pack("<Q", v)   # CK_ULONG on x86-64 Linux

def b(v):
    return bytes([1 if v else 0])

def attr(name, value=None, null_len=None):
    t = bytes([T[name]])
    if value is None:
        return t + bytes([0xFF, null_len or 0])
    if len(value) >= 0xFE:
        return t + bytes([0xFE]) + struct.pack(">H", len(value)) + value
    return t + bytes([len(value)]) + value

def tmpl(*attrs):
    return bytes([len(attrs)]) + b"".join(attrs)

CREATE, FIND, KEYPAIR, SECRET, GET, SET = range(6)
EC, RSA, DSA, EDDSA = range(4)

def keypair(mech, pub, priv):
    return bytes([KEYPAIR, mech]) + pub + priv

def get(obj, t):
    return bytes([GET, obj]) + t

def main():
    cert = open(sys.argv[1], "rb").read()
    out = sys.argv[2]
    ec_pub = tmpl(attr("EC_PARAMS", P256), attr("LABEL", b"fuzz-ec"), attr("ID", b"\x01\x02"),
                  attr("VERIFY", b(1)), attr("TOKEN", b(1)))
    ec_priv = tmpl(attr("SIGN", b(1)), attr("LABEL", b"fuzz-ec"), attr("ID", b"\x01\x02"),
                   attr("SENSITIVE", b(1)), attr("PRIVATE", b(1)), attr("DERIVE", b(0)))
    # index 0.. of the known handles are the fixture's factory objects; created objects follow
    last = 0xFE  # some known handle
    seeds = {
        "find-all": bytes([FIND]) + tmpl(),
        "find-private-keys": bytes([FIND]) + tmpl(attr("CLASS", ul(CKO_PRIVATE_KEY))),
        "find-by-label": bytes([FIND]) + tmpl(attr("LABEL", b"IDevID"), attr("TOKEN", b(1))),
        "find-bad-class-len": bytes([FIND]) + tmpl(attr("CLASS", b"\x03")),
        "get-factory-all": b"".join(get(i, tmpl(*[attr(n, None, 0) for n in
                                    ("CLASS", "LABEL", "ID", "KEY_TYPE", "EC_POINT", "EC_PARAMS",
                                     "MODULUS", "VALUE", "SUBJECT", "SENSITIVE")[:8]]))
                                    for i in range(6)),
        "get-small-buffers": get(0, tmpl(attr("LABEL", b"x"), attr("ID", b""),
                                         attr("CLASS", b"1234"), attr("VALUE", b"\0" * 10))),
        "get-sensitive": get(1, tmpl(attr("PRIVATE_EXPONENT", None, 0), attr("VALUE", None, 0))),
        "set-factory-label": bytes([SET, 0]) + tmpl(attr("LABEL", b"renamed")),
        "keygen-ec-p256": keypair(EC, ec_pub, ec_priv),
        "keygen-ec-p384-derive": keypair(EC, tmpl(attr("EC_PARAMS", P384)),
                                         tmpl(attr("DERIVE", b(1)), attr("SIGN", b(1)))),
        "keygen-ec-then-get-set": keypair(EC, ec_pub, ec_priv)
            + get(last, tmpl(*[attr(n, None, 0) for n in ("CLASS", "LABEL", "ID", "EC_POINT",
                                                          "KEY_TYPE", "SIGN", "LOCAL", "MODIFIABLE")]))
            + bytes([SET, last]) + tmpl(attr("LABEL", b"new label"), attr("ID", b"\x09"))
            + bytes([FIND]) + tmpl(attr("ID", b"\x09")),
        "keygen-ec-bad-curve": keypair(EC, tmpl(attr("EC_PARAMS", bytes.fromhex("06052b81040023"))),
                                       tmpl()),
        "keygen-rsa-2048": keypair(RSA, tmpl(attr("MODULUS_BITS", ul(2048)),
                                             attr("PUBLIC_EXPONENT", b"\x01\x00\x01")),
                                   tmpl(attr("SIGN", b(1)), attr("DECRYPT", b(1)))),
        "keygen-rsa-1024": keypair(RSA, tmpl(attr("MODULUS_BITS", ul(1024))), tmpl()),
        "keygen-rsa-exp3": keypair(RSA, tmpl(attr("MODULUS_BITS", ul(2048)),
                                             attr("PUBLIC_EXPONENT", b"\x03")), tmpl()),
        "keygen-dsa": keypair(DSA, tmpl(), tmpl()),
        "keygen-ec-inconsistent": keypair(EC, tmpl(attr("EC_PARAMS", P256),
                                                   attr("MODULUS_BITS", ul(2048))), tmpl()),
        "secret-hmac": bytes([SECRET, 0]) + tmpl(attr("CLASS", ul(CKO_SECRET_KEY)),
                                                 attr("KEY_TYPE", ul(CKK_GENERIC_SECRET)),
                                                 attr("VALUE_LEN", ul(32)), attr("SIGN", b(1)),
                                                 attr("LABEL", b"fuzz-hmac"))
            + get(0xFD, tmpl(attr("VALUE", None, 0), attr("VALUE_LEN", None, 0))),
        "secret-aes": bytes([SECRET, 1]) + tmpl(attr("VALUE_LEN", ul(16))),
        "secret-bad-len": bytes([SECRET, 0]) + tmpl(attr("VALUE_LEN", ul(7))),
        "create-cert": bytes([CREATE]) + tmpl(attr("CLASS", ul(CKO_CERTIFICATE)),
                                              attr("CERTIFICATE_TYPE", ul(0)),
                                              attr("TOKEN", b(1)), attr("LABEL", b"fuzz-cert"),
                                              attr("ID", b"\x42"), attr("VALUE", cert))
            + get(0xFD, tmpl(attr("VALUE", None, 0), attr("SUBJECT", None, 0),
                             attr("ISSUER", None, 0), attr("SERIAL_NUMBER", None, 0))),
        "create-cert-trailing": bytes([CREATE]) + tmpl(attr("CLASS", ul(CKO_CERTIFICATE)),
                                                       attr("VALUE", cert + b"\0")),
        "create-cert-trusted": bytes([CREATE]) + tmpl(attr("CLASS", ul(CKO_CERTIFICATE)),
                                                      attr("TRUSTED", b(1)), attr("VALUE", cert)),
        "create-private-key": bytes([CREATE]) + tmpl(attr("CLASS", ul(CKO_PRIVATE_KEY)),
                                                     attr("KEY_TYPE", ul(CKK_EC)),
                                                     attr("VALUE", b"\x11" * 32)),
        "create-no-class": bytes([CREATE]) + tmpl(attr("LABEL", b"x")),
        "raw-type": bytes([FIND, 1, 0xFF, 0x80, 0, 0, 1, 0]),
    }
    for name, data in seeds.items():
        with open(f"{out}/{name}", "wb") as f:
            f.write(data)

main()
