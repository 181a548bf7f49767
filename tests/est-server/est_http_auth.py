# SPDX-License-Identifier: Apache-2.0
"""HTTP authentication for est-server: Basic (RFC 7617) and Digest (RFC 7616, qop=auth,
MD5 or SHA-256), offered and checked per server (--auth-schemes, --digest-algorithm).

Digest nonces are stateless: "TIME.HMAC(secret, TIME)", valid for NONCE_LIFETIME seconds, so
a nonce this server did not make (or made long ago) is refused."""

import base64
import binascii
import hashlib
import hmac
import os
import re
import time

NONCE_LIFETIME = 300
SCHEMES = ("basic", "digest")
ALGORITHMS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


class HttpAuth:
    def __init__(self, user_pass, realm, schemes, algorithm):
        """USER_PASS: b"user:pass"; SCHEMES: a list from SCHEMES, in the order offered."""
        self.user, _, self.password = user_pass.partition(b":")
        self.realm = realm
        self.schemes = list(schemes)
        self.algorithm = algorithm
        self.secret = os.urandom(32)

    def challenges(self):
        """The WWW-Authenticate values of a 401, one per scheme offered."""
        out = []
        for scheme in self.schemes:
            if scheme == "basic":
                out.append(f'Basic realm="{self.realm}"')
            else:
                out.append(f'Digest realm="{self.realm}", qop="auth", '
                           f'algorithm={self.algorithm}, nonce="{self._nonce()}", '
                           f'opaque="{self.secret[:8].hex()}"')
        return out

    def check(self, authorization, method, path):
        """The scheme ("basic", "digest") the Authorization header satisfies, or None."""
        scheme, _, cred = (authorization or "").partition(" ")
        scheme = scheme.lower()
        if scheme not in self.schemes or not cred.strip():
            return None
        if scheme == "basic":
            try:
                raw = base64.b64decode(cred.strip(), validate=True)
            except (binascii.Error, ValueError):
                return None
            return "basic" if hmac.compare_digest(raw, self.user + b":" + self.password) else None
        return "digest" if self._check_digest(cred, method, path) else None

    def _nonce(self):
        stamp = str(int(time.time()))
        mac = hmac.new(self.secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{stamp}.{mac}"

    def _nonce_ok(self, nonce):
        stamp, _, mac = nonce.partition(".")
        if not stamp.isdigit():
            return False
        want = hmac.new(self.secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]
        return hmac.compare_digest(mac, want) and 0 <= time.time() - int(stamp) <= NONCE_LIFETIME

    def _check_digest(self, cred, method, path):
        params = dict((k.lower(), v1 if v1 else v2) for k, v1, v2 in
                      re.findall(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))', cred))
        algorithm = params.get("algorithm", "MD5")
        if algorithm != self.algorithm or params.get("qop") != "auth":
            return False
        h = lambda s: ALGORITHMS[algorithm](s.encode()).hexdigest()  # noqa: E731
        need = ("username", "realm", "nonce", "uri", "response", "nc", "cnonce")
        if any(k not in params for k in need) or params["realm"] != self.realm:
            return False
        if params["username"].encode() != self.user or params["uri"] != path:
            return False
        if not self._nonce_ok(params["nonce"]):
            return False
        ha1 = h(f"{params['username']}:{self.realm}:{self.password.decode()}")
        ha2 = h(f"{method}:{params['uri']}")
        want = h(f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}")
        return hmac.compare_digest(params["response"].lower(), want)
