"""Which detectors run: the built-ins plus those other packages register as entry points."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from firebreak import plugins
from firebreak.detect.builtin.drift import FeatureDrift, MissingValues, OutputDrift
from firebreak.detect.builtin.embedding import EmbeddingDrift
from firebreak.detect.builtin.operational import Consumption, ErrorRate, KeyConsumption, Latency
from firebreak.detect.builtin.performance import EstimatedPerformance, Performance
from firebreak.errors import ValidationFailed

BUILTIN_DETECTORS: dict[str, type[Any]] = {
    cls.name: cls for cls in (FeatureDrift, MissingValues, OutputDrift, EmbeddingDrift,
                              Performance, EstimatedPerformance, Latency, ErrorRate,
                              Consumption, KeyConsumption)
}


def detector_classes() -> dict[str, type[Any]]:
    """{slug: class}: built-ins, then every `firebreak.detectors` entry point."""
    return {**BUILTIN_DETECTORS, **plugins.load("detectors")}


def build_detectors(settings: Mapping[str, Any] | None = None,
                    disabled: set[str] | frozenset[str] = frozenset()) -> list[Any]:
    """Instantiate every enabled detector with its settings block ({slug: {param: value}})."""
    settings = settings or {}
    out = []
    for slug, cls in detector_classes().items():
        if slug in disabled:
            continue
        try:
            out.append(cls(**settings.get(slug, {})))
        except Exception as exc:  # pydantic says which parameter and why
            raise ValidationFailed(f"plugins.detectors.{slug}", str(exc)) from exc
    return out
