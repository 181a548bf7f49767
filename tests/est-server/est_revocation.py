# SPDX-License-Identifier: Apache-2.0
"""Revocation pointers for est-server's issued certificates: the OCSP responder URL
(Authority Information Access) and the CRL Distribution Point, and the OpenSSL CA index
(index.txt) that 'openssl ocsp -index' answers from and 'openssl ca -gencrl' lists revocations
from. A test revokes a certificate by changing its index line from V to R."""

import threading

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

_INDEX_LOCK = threading.Lock()


def add_pointers(builder, ocsp_url, crl_url):
    if ocsp_url:
        builder = builder.add_extension(x509.AuthorityInformationAccess([
            x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                   x509.UniformResourceIdentifier(ocsp_url))]), critical=False)
    if crl_url:
        builder = builder.add_extension(x509.CRLDistributionPoints([
            x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None,
                                   None)]), critical=False)
    return builder


def _openssl_name(name):
    """/C=../O=../CN=.. as OpenSSL's index shows a subject."""
    parts = []
    for rdn in name.rdns:
        for attr in rdn:
            parts.append(f"{attr.rfc4514_attribute_name}={attr.value}")
    return "/" + "/".join(parts)


def index_issued(path, cert):
    serial = format(cert.serial_number, "X")
    if len(serial) % 2:
        serial = "0" + serial
    expiry = cert.not_valid_after.strftime("%y%m%d%H%M%SZ")
    line = f"V\t{expiry}\t\t{serial}\tunknown\t{_openssl_name(cert.subject)}\n"
    with _INDEX_LOCK, open(path, "a") as f:
        f.write(line)
