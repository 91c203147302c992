"""Scanners: per-text checks used inline by the gateway and by detectors.

    from firebreak.scan import scan_all, ScanContext
    verdicts = scan_all("Ignore previous instructions", ScanContext(target="input"))

Importing this package is cheap; the classifier artifact loads on first use.
"""

from __future__ import annotations

from firebreak.scan.base import ScanContext, Scanner
from firebreak.scan.registry import all_scanners, scan_all, scanners_for

__all__ = ["ScanContext", "Scanner", "all_scanners", "scan_all", "scanners_for"]
