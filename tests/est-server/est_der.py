# SPDX-License-Identifier: Apache-2.0
"""The little DER the test EST server writes and reads by hand (X.690): TLVs with definite,
minimal lengths. Used by est-server (CsrAttrs), est_attest_factory.py (its request and
answer) and est_attestation.py (the CSR's evidence attribute, which python3-cryptography 38
cannot read), and by the test tools that forge requests (tests/enroll/craft-csr,
attest-tamper). Reading raises DerError (a ValueError) saying what is wrong."""


class DerError(ValueError):
    """Not DER: truncated, or a length that is indefinite, too long or not minimal."""


def length(n):
    """The DER length octets of N."""
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag, content):
    return bytes([tag]) + length(len(content)) + content


def read(buf, pos):
    """(tag, content start, content end) of the TLV at POS (one-byte tags)."""
    if pos + 2 > len(buf):
        raise DerError("truncated")
    tag, first = buf[pos], buf[pos + 1]
    pos += 2
    if first < 0x80:
        n = first
    else:
        k = first & 0x7F
        if k == 0 or k > 4 or pos + k > len(buf) or buf[pos] == 0:
            raise DerError("bad length")
        n = int.from_bytes(buf[pos:pos + k], "big")
        if n < 0x80:
            raise DerError("non-minimal length")
        pos += k
    if pos + n > len(buf):
        raise DerError("truncated")
    return tag, pos, pos + n


def children(buf, start, end):
    """[(tag, content start, content end, TLV start)] of the TLVs from START to END."""
    out = []
    while start < end:
        tag, cs, ce = read(buf, start)
        if ce > end:
            raise DerError("an element runs past its parent")
        out.append((tag, cs, ce, start))
        start = ce
    return out
