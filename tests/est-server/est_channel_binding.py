# SPDX-License-Identifier: Apache-2.0
"""The TLS channel bindings est-server checks proof-of-possession against: tls-unique
(RFC 5929) on TLS 1.2, from Python's ssl module, and tls-exporter (RFC 9266) on TLS 1.3,
which Python's ssl module cannot give: it is read from the connection's OpenSSL object
through ctypes. The SSL pointer is taken from the ssl module's socket object (CPython's
PySSLSocket: object header, the socket weakref, then SSL *) and checked against what the
ssl module itself reports before it is used; anything unexpected is an error, never a
binding."""

import ctypes
import ctypes.util

TLS1_3_VERSION = 0x0304
EXPORTER_LABEL = b"EXPORTER-Channel-Binding"

_libssl = None


def _lib():
    global _libssl
    if _libssl is None:
        lib = ctypes.CDLL(ctypes.util.find_library("ssl") or "libssl.so.3")
        lib.SSL_version.argtypes = [ctypes.c_void_p]
        lib.SSL_version.restype = ctypes.c_int
        lib.SSL_get_finished.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.SSL_get_finished.restype = ctypes.c_size_t
        lib.SSL_export_keying_material.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
            ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
        lib.SSL_export_keying_material.restype = ctypes.c_int
        _libssl = lib
    return _libssl


def _ssl_pointer(conn):
    obj = conn._sslobj
    ptr = ctypes.c_void_p.from_address(id(obj) + 3 * ctypes.sizeof(ctypes.c_void_p)).value
    if not ptr or _lib().SSL_version(ptr) != TLS1_3_VERSION or conn.version() != "TLSv1.3":
        raise RuntimeError("cannot reach the connection's OpenSSL object")
    return ptr


def binding(conn):
    """(name, bytes) of CONN's channel binding: tls-exporter on TLS 1.3, else tls-unique."""
    if conn.version() != "TLSv1.3":
        return "tls-unique", conn.get_channel_binding("tls-unique")
    out = ctypes.create_string_buffer(32)
    if _lib().SSL_export_keying_material(_ssl_pointer(conn), out, 32, EXPORTER_LABEL,
                                         len(EXPORTER_LABEL), None, 0, 0) != 1:
        raise RuntimeError("SSL_export_keying_material failed")
    return "tls-exporter", out.raw
