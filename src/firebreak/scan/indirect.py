"""Indirect injection: instructions aimed at the model inside retrieved chunks and tool
outputs. Whole-document classification fails here (a clean document and its injected twin
share almost all their text), so this scanner scores sentence by sentence and reports the
sentences that address the model, with the chunk's doc id and source."""

from __future__ import annotations

import re

from firebreak.events import Span, Verdict
from firebreak.scan.base import DEFAULT_CONTEXT, ScanContext, Target, clean, verdict
from firebreak.scan.classifier import LinearModel, load
from firebreak.scan.normalise import views
from firebreak.scan.patterns import PATTERNS

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")
# Patterns that, inside a document, almost only occur when someone talks to the model.
_STRONG = frozenset({"ignore_instructions", "ignore_de", "ignore_es_fr", "new_instructions",
                     "model_addressed", "do_not_tell", "exfil_link", "delimiter_injection",
                     "access_granted", "you_are_now", "instead", "reveal_prompt",
                     "override_mode", "switch_task"})
# Rulers of dashes or equals signs are everywhere in code and e-mails: not a delimiter attack.
_RULER = re.compile(r"^\s*(?:-{5,}|={5,})\s*$")
_IMPERATIVE = re.compile(
    r"^\s*(?:(?:dear\s+|hey\s+)?(?:ai|assistant|ai\s+assistant|model|chatbot|bot|llm|gpt)\s*"
    r"[:,]\s*)?(?:please\s+)?(?:now\s+)?(?:write|recommend|tell|include|add|respond|answer|translate|"
    r"summari[sz]e|ignore|provide|give|send|replace|append|insert|print|output|say|make|change|"
    r"create|generate|list|explain|describe|encode|reply|mention|rewrite|convert|suggest|"
    r"forget|disregard|remember|always|never|do\s+not|don't|instead|also|integrate|incorporate|"
    r"use|augment|enrich|embed|merge|consider|modify|begin|start|end|conclude|highlight|"
    r"emphasi[sz]e|develop|compose|draft|craft|share|promote|advertise|direct|urge|ask)\b"
    r"(?!\s*[(.=])", re.IGNORECASE)
_TO_MODEL = re.compile(r"\b(?:your\s+(?:answer|response|reply|summary|output|explanation|"
                       r"elucidation|analysis|solution|message|narrative|recommendation|codebase|algorithm|"
                       r"implementation|script|program)s?\b|"
                       r"in\s+your\s+"
                       r"(?:answer|response|reply)|the\s+user|when\s+(?:you\s+)?(?:answer|"
                       r"respond|summari[sz]e)|before\s+(?:answering|responding)|each\s+"
                       r"(?:answer|response)|at\s+the\s+(?:end|beginning)\s+of)\b", re.IGNORECASE)
_LINE = re.compile(r"[^\n]+")
MAX_CHARS = 20_000


class IndirectInjectionScanner:
    """Flags retrieved chunks and tool outputs that carry instructions for the model."""

    name = "indirect_injection"
    targets: tuple[Target, ...] = ("chunk", "tool")
    default_threshold = 0.6

    def __init__(self, model: LinearModel | None = None) -> None:
        self._model = model

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> Verdict:
        model = self._model or load()
        threshold = context.threshold(self.name, self.default_threshold)
        hits: list[tuple[float, Span, str]] = []
        for view in views(text[:MAX_CHARS]):  # as given, normalised, decoded payloads
            for m in _SENTENCE.finditer(view.text):
                sentence = m.group(0)
                if len(sentence.strip()) < 8:
                    continue
                score, why = _sentence_score(sentence, model)
                if score >= threshold:
                    why += f" in the {view.note} text" if view.note else ""
                    hits.append((score, Span(start=m.start(), end=m.end(), text=sentence[:200]),
                                 why))
            if hits:
                break
        hits += [h for h in _stray_lines(text[:MAX_CHARS]) if h[0] >= threshold]
        if not hits:
            return clean(self.name, context)
        hits.sort(key=lambda h: h[0], reverse=True)
        where = f" in {context.doc_id or 'chunk'}"
        if context.source:
            where += f" from {context.source}"
        return verdict(self.name, context, score=hits[0][0], label="indirect_injection",
                       spans=[h[1] for h in hits[:5]],
                       reason=f"{len(hits)} sentence(s) addressed to the model{where}: "
                              f"{hits[0][2]}", threshold=self.default_threshold)


def _stray_lines(text: str) -> list[tuple[float, Span, str]]:
    """Questions or commands written between the rows of a table: a table is data, so a
    prose request inside one is aimed at whoever reads it, i.e. the model."""
    lines = list(_LINE.finditer(text))
    rows = sum(m.group(0).lstrip().startswith("|") for m in lines)
    prose = [m for m in lines if not m.group(0).lstrip().startswith("|")
             and len(m.group(0).split()) >= 4]
    if rows < 3 or rows < 2 * len(prose):
        return []
    out = []
    for m in prose:
        line = m.group(0).strip()
        if line.endswith("?") or _IMPERATIVE.search(line):
            out.append((0.75, Span(start=m.start(), end=m.end(), text=line[:200]),
                        "a question or command inside a table"))
    return out


def _sentence_score(sentence: str, model: LinearModel) -> tuple[float, str]:
    """How strongly one sentence reads as an instruction to the model, and why.

    A sentence is flagged only with a structural reason: a high-precision pattern, or an
    imperative aimed at the model's answer ("Add X to your reply"). The classifier only
    ranks within those groups: alone it flagged ordinary e-mail lines ("If you have any
    questions, just reply to this email") and how-to steps, so it never flags by itself.
    """
    strong = [p.name for p in PATTERNS if p.name in _STRONG
              and (m := p.regex.search(sentence)) and not _RULER.match(m.group(0))]
    if strong:
        return 0.95, "matched " + ", ".join(strong)
    imperative = bool(_IMPERATIVE.search(sentence))
    to_model = bool(_TO_MODEL.search(sentence))
    if not (imperative or to_model):
        return 0.0, "no instruction"
    prob = model.score(sentence)
    if imperative and to_model:
        return max(0.8, prob), "imperative aimed at the model's answer"
    if to_model:
        return 0.5 * prob + 0.3, f"mentions the model's answer (classifier p={prob:.2f})"
    return 0.65 * prob, f"imperative sentence (classifier p={prob:.2f})"
