"""Approval links: HMAC-SHA256 over (run, step, decision, expiry), checked without a token.

A link is `<public_url>/v1/runs/<run>/steps/<step>/link?decision=approve&expires=<unix>&sig=`.
The key is `playbooks.approval_secret`; without one, a random key is made once and kept in
`<data_dir>/approval.key` (mode 0600) so links survive restarts.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from urllib.parse import quote, urlencode

from firebreak.config import Settings


def _key(settings: Settings) -> bytes:
    if settings.playbooks.approval_secret is not None:
        return settings.playbooks.approval_secret.get_secret_value().encode()
    path = settings.data_dir / "approval.key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".approval.key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:  # link is atomic and refuses to replace: the first writer's key wins
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip().encode()


def signature(settings: Settings, run_id: str, step_id: str, decision: str,
              expires: int) -> str:
    msg = f"{run_id}\n{step_id}\n{decision}\n{expires}".encode()
    return hmac.new(_key(settings), msg, hashlib.sha256).hexdigest()


def link(settings: Settings, run_id: str, step_id: str, decision: str = "approve",
         *, now: float | None = None) -> str:
    """A signed link that records `decision` for the step when opened."""
    expires = int((now or time.time()) + settings.playbooks.approval_link_ttl_seconds)
    base = settings.api.public_url or f"http://{settings.api.host}:{settings.api.port}"
    query = urlencode({"decision": decision, "expires": expires,
                       "sig": signature(settings, run_id, step_id, decision, expires)})
    return (f"{base.rstrip('/')}/v1/runs/{quote(run_id, safe='')}/steps/"
            f"{quote(step_id, safe='')}/link?{query}")


def verify(settings: Settings, run_id: str, step_id: str, decision: str, expires: int,
           sig: str, *, now: float | None = None) -> str | None:
    """None when the link is good; otherwise why it is refused."""
    if decision not in ("approve", "deny"):
        return "decision must be approve or deny"
    if expires < (now or time.time()):
        return "the link has expired"
    good = signature(settings, run_id, step_id, decision, expires)
    # bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500)
    ok = hmac.compare_digest(good.encode(), sig.encode("utf-8", "replace"))
    return None if ok else "the link's signature is not valid"
