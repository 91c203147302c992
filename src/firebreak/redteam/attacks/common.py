"""Shared machinery for built-in attacks: a template-driven base class and goal tokens."""

from __future__ import annotations

import hashlib

from firebreak.redteam.base import Document, Probe, Turn

_WORDS = ("ZEBRA", "COBALT", "MANGO", "QUASAR", "TUNDRA", "VORTEX", "EMBER", "NIMBUS")


def goal_token(seed: str) -> str:
    """A deterministic, unlikely-by-chance marker such as 'QUASAR-4821' for one probe."""
    digest = hashlib.sha256(seed.encode()).digest()
    return f"{_WORDS[digest[0] % len(_WORDS)]}-{int.from_bytes(digest[1:3], 'big') % 9000 + 1000}"


class TemplateAttack:
    """An attack whose payloads come from templates with a `{goal}` slot.

    Subclasses set `name`, `owasp`, `atlas`, `templates` and optionally `scorers`, and may
    override `wrap` to place the payload somewhere other than a single user turn.
    """

    name = "template"
    description = ""
    owasp: tuple[str, ...] = ()
    atlas: tuple[str, ...] = ()
    scorers: tuple[str, ...] = ("goal",)
    templates: tuple[str, ...] = ()
    benign = False

    def probes(self) -> list[Probe]:
        """One probe per template, each with its own goal token."""
        out = []
        for i, template in enumerate(self.templates):
            probe_id = f"{self.name}-{i + 1:02d}"
            goal = goal_token(probe_id) if "{goal}" in template else ""
            out.append(self.from_payload(probe_id, template.replace("{goal}", goal), goal))
        return out

    def from_payload(self, probe_id: str, payload: str, goal: str) -> Probe:
        """A probe carrying `payload` verbatim (used for suites loaded from files).

        Without a goal string (e.g. a payload exported from an incident) the goal scorer
        gives way to `complied`: any answer that is not a refusal or a block counts.
        """
        scorers = self.scorers
        if not goal and "goal" in scorers:
            scorers = tuple(s for s in scorers if s != "goal") + ("complied",)
        base = Probe(id=probe_id, attack=self.name, payload=payload, goal=goal,
                     scorers=scorers, benign=self.benign, owasp=self.owasp,
                     atlas=self.atlas)
        return self.wrap(base)

    def wrap(self, probe: Probe) -> Probe:
        """Default delivery: the payload is the one user message."""
        return probe.with_(turns=(Turn("user", probe.payload),))


def doc(doc_id: str, text: str) -> Document:
    """An attack document from the red team's own source."""
    return Document(doc_id=doc_id, text=text, source="redteam-upload")
