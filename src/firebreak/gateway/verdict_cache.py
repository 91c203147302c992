"""A bounded LRU of scanner verdicts keyed by text hash, so repeated texts are scanned once.

RAG chunks and earlier conversation turns come back on request after request; scanning
them again costs the same every time and dominates the gateway's CPU. Scanners are pure
functions of (text, context), so a verdict can be reused for the same text under the same
context (target, thresholds, mode, canary, doc id and source are all part of the key).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable

from firebreak.events import Verdict
from firebreak.scan.base import ScanContext

DEFAULT_SIZE = 4096

Key = tuple[object, ...]


def cache_key(scanner: str, text: str, ctx: ScanContext) -> Key:
    """Everything a verdict depends on, with the text as a digest."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    return (scanner, digest, ctx.target, ctx.deployment, ctx.doc_id, ctx.source, ctx.canary,
            tuple(sorted(ctx.thresholds.items())), ctx.strict, ctx.mode)


class VerdictCache:
    """Least-recently-used verdicts, at most `size` of them; counts hits and misses."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[Key, Verdict] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def get_or_scan(self, scanner: str, text: str, ctx: ScanContext,
                    scan: Callable[[str, ScanContext], Verdict]) -> Verdict:
        """The cached verdict for (scanner, text, ctx), else `scan(text, ctx)` stored."""
        if self.size <= 0:
            return scan(text, ctx)
        key = cache_key(scanner, text, ctx)
        found = self._data.get(key)
        if found is not None:
            self._data.move_to_end(key)
            self.hits += 1
            return found
        self.misses += 1
        result = scan(text, ctx)
        self._data[key] = result
        if len(self._data) > self.size:
            self._data.popitem(last=False)
        return result
