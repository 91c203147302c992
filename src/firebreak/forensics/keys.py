"""The Ed25519 key that signs evidence manifests: from config, else a file made on first use."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from firebreak.config import Settings
from firebreak.errors import ConfigError


def key_file(settings: Settings) -> Path:
    return settings.forensics.signing_key_file or settings.data_dir / "evidence" / "signing.key"


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The configured key, or the key file's (created with mode 0600 when absent)."""
    configured = settings.forensics.signing_key
    if configured is not None:
        return _from_b64(configured.get_secret_value(), "forensics.signing_key")
    path = key_file(settings)
    if path.is_file():
        return _from_b64(path.read_text().strip(), str(path))
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(key.private_bytes_raw()).decode())
    return key


def _from_b64(text: str, where: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except ValueError as exc:
        raise ConfigError(f"{where}: not a base64 Ed25519 private key (32 bytes)") from exc


def public_b64(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign(key: Ed25519PrivateKey, body: bytes) -> str:
    return base64.b64encode(key.sign(body)).decode()


def signature_ok(public_key: str, body: bytes, signature: str) -> bool:
    """True when `signature` (base64) is `public_key`'s signature over `body`."""
    try:
        pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
        pub.verify(base64.b64decode(signature), body)
    except (InvalidSignature, ValueError):
        return False
    return True
