#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""What est_attestation.py checks of a TPMS_ATTEST's qualifiedSigner, on a real certification
(attested.sh): the TPM's own passes; one naming a handle (as an unsigned attestation does)
and one naming the certified key itself are refused. No TPM signs those, so the parser is
called directly. usage: signer-name.py ATTEST.bin EST_SERVER_DIR; prints one line each."""
import struct
import sys

sys.path.insert(0, sys.argv[2])
import est_attestation as ea  # noqa: E402
import est_tpm  # noqa: E402

attest = open(sys.argv[1], "rb").read()
r = est_tpm.Reader(attest, "TPMS_ATTEST")
r.u32(), r.u16()
start = r.pos
signer = r.tpm2b()
rest = attest[r.pos:]
r.tpm2b(), r.take(25), r.tpm2b()
qualified = r.tpm2b()


def with_signer(name):
    return attest[:start] + struct.pack(">H", len(name)) + name + rest


for what, data in (("tpm", attest), ("handle", with_signer(bytes.fromhex("40000007"))),
                   ("itself", with_signer(qualified))):
    try:
        ea.parse_attest(data)
        print(f"{what}: accepted")
    except ea.Refused as e:
        print(f"{what}: refused: {e}")
