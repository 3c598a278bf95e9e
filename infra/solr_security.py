"""Solr's `security.json` for basic auth: one user, every request authenticated, the password stored salted and hashed
as Solr's Sha256AuthenticationProvider checks it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from pathlib import Path


def password_hash(password: str, salt: bytes) -> str:
    """`base64(sha256(sha256(salt + password))) base64(salt)`, the credential format of Solr's BasicAuthPlugin."""
    digest = hashlib.sha256(hashlib.sha256(salt + password.encode("utf-8")).digest()).digest()
    return f"{base64.b64encode(digest).decode()} {base64.b64encode(salt).decode()}"


def security_json(user: str, password: str) -> dict[str, object]:
    """Basic auth for `user`, who holds the admin role that every request needs; anonymous requests get 401."""
    return {
        "authentication": {"class": "solr.BasicAuthPlugin", "blockUnknown": True, "forwardCredentials": False,
                           "credentials": {user: password_hash(password, secrets.token_bytes(32))}},
        "authorization": {"class": "solr.RuleBasedAuthorizationPlugin", "user-role": {user: ["admin"]},
                          "permissions": [{"name": "all", "role": "admin"}]},
    }


def write_security(solr_home: Path, user: str, password: str, owner: tuple[int, int] | None = None) -> Path:
    """Write `security.json` into `solr_home` (readable by its owner only) and the `configsets` folder that Solr's
    configset upload writes to; `owner` (uid, gid) is given both, and the folders above up to the volume root."""
    solr_home.mkdir(parents=True, exist_ok=True)
    (solr_home / "configsets").mkdir(exist_ok=True)
    path = solr_home / "security.json"
    path.write_text(json.dumps(security_json(user, password), indent=2) + "\n")
    path.chmod(0o600)
    if owner is not None:
        for target in (solr_home.parent, solr_home, solr_home / "configsets", path):
            os.chown(target, *owner)
    return path
