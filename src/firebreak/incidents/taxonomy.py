"""The taxonomy: fifteen incident categories mapped to OWASP LLM 2025, MITRE ATLAS, NIST AI RMF.

The table lives in `taxonomy.yaml` beside this module; every incident carries the entry
of its category (`Incident.taxonomy`).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from firebreak.errors import ValidationFailed


class Category(BaseModel):
    """One taxonomy entry."""

    slug: str
    title: str
    kind: Literal["security", "quality", "availability"]
    family: str
    reversible: bool
    generic: bool = False  # a symptom a more specific category of its family explains
    owasp: list[str]
    atlas: list[str]
    nist: list[str]

    def tags(self) -> dict[str, Any]:
        """What an incident shows: the ids, the NIST functions and the kind."""
        functions = sorted({n.split()[0] for n in self.nist})
        return {"category": self.slug, "title": self.title, "kind": self.kind,
                "family": self.family, "owasp": self.owasp, "atlas": self.atlas,
                "nist": self.nist, "nist_functions": functions}


@lru_cache(maxsize=1)
def categories() -> dict[str, Category]:
    """Every category by slug, read once from the data file."""
    text = resources.files("firebreak.incidents").joinpath("taxonomy.yaml").read_text("utf-8")
    raw: dict[str, dict[str, Any]] = yaml.safe_load(text)
    return {slug: Category(slug=slug, **entry) for slug, entry in raw.items()}


def category(slug: str) -> Category:
    """The entry for `slug`; ValidationFailed naming the known slugs otherwise."""
    table = categories()
    if slug not in table:
        raise ValidationFailed("category", f"unknown category {slug!r}; one of "
                               f"{', '.join(table)}")
    return table[slug]


def family(slug: str) -> str:
    """The correlation family of a category (an unknown slug is its own family)."""
    found = categories().get(slug)
    return found.family if found else slug
