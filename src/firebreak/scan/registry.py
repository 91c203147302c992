"""Which scanners run: the built-ins plus any registered under `firebreak.scanners`."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import structlog

from firebreak.events import Verdict
from firebreak.scan.base import DEFAULT_CONTEXT, ScanContext, Scanner

log = structlog.get_logger(__name__)


def _builtins() -> dict[str, Any]:
    from firebreak.scan.canary import CanaryScanner
    from firebreak.scan.indirect import IndirectInjectionScanner
    from firebreak.scan.injection import InjectionScanner
    from firebreak.scan.pii import PIIScanner, SecretsScanner

    return {"injection": InjectionScanner, "indirect_injection": IndirectInjectionScanner,
            "canary": CanaryScanner, "pii": PIIScanner, "secrets": SecretsScanner}


@lru_cache(maxsize=1)
def all_scanners() -> tuple[Scanner, ...]:
    """One instance of every scanner: entry points first, built-ins filling the gaps."""
    from firebreak import plugins

    found = {**_builtins(), **plugins.load("scanners")}
    out: list[Scanner] = []
    for name, factory in found.items():
        try:
            scanner = factory() if isinstance(factory, type) or callable(factory) else factory
        except Exception as exc:  # a broken plugin must not stop the others
            log.warning("scanner.init_failed", scanner=name, error=str(exc))
            continue
        if isinstance(scanner, Scanner):
            out.append(scanner)
    return tuple(out)


def scanners_for(target: str, names: list[str] | None = None) -> list[Scanner]:
    """Scanners that apply to `target`, optionally limited to `names`."""
    return [s for s in all_scanners()
            if target in s.targets and (names is None or s.name in names)]


def scan_all(text: str, context: ScanContext = DEFAULT_CONTEXT,
             names: list[str] | None = None) -> list[Verdict]:
    """Run every scanner that applies to `context.target` on `text`; one Verdict each."""
    target = context.target
    chosen = all_scanners() if target == "text" else scanners_for(target, names)
    if names is not None:
        chosen = [s for s in chosen if s.name in names]
    return [s.scan(text, context) for s in chosen]
