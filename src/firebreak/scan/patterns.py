"""Hand-written, high-precision patterns for injection and jailbreak attempts.

They do two jobs: each match becomes a feature of the classifier (`h:<name>` tokens), and
the matched span explains a verdict to a person ("which words triggered it").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from firebreak.events import Span


@dataclass(frozen=True)
class Pattern:
    """A named regex; it runs only on texts that contain one of its trigger words."""

    name: str
    kind: str  # injection | jailbreak | leak
    regex: re.Pattern[str]
    triggers: tuple[str, ...]  # lower-case substrings, one of which a match needs; () = always


def _p(name: str, kind: str, rx: str) -> Pattern:
    return Pattern(name, kind, re.compile(rx, re.IGNORECASE | re.DOTALL),
                   tuple(t for t in _TRIGGERS.get(name, "").split("|") if t))


# Cheap prefilter: a pattern runs only if the lower-cased text contains one of these.
_TRIGGERS = {
    "ignore_instructions": "ignor|disregard|forget|skip|overrid|bypass|neglect|overlook",
    "ignore_de": "ignorier|vergiss|vergessen",
    "ignore_es_fr": "ignor|olvida|oubliez",
    "new_instructions": "instruction|task|rule|directive",
    "system_prompt": "prompt|instruction|message",
    "reveal_prompt": "prompt|instruction|password|passcode|secret|access code",
    "access_granted": "granted",
    "you_are_now": "you|from now",
    "pretend_roleplay": "pretend|imagin|act|role|play|character|simulat|hypothetical",
    "no_restrictions": "restriction|limitation|filter|censor|guideline|rule|boundar|constraint",
    "dan_mode": "dan|anything|developer|jailbr|aim|dude|stan|evil|unfiltered|uncensored|amoral",
    "policy_evasion": "polic",
    "as_an_ai": "ai|model|chatgpt|gpt|llm",
    "respond_only": "respond|reply|answer|say|output|print|write",
    "instead": "instead",
    "begin_with": "begin|start|sure",
    "model_addressed": "ai|assistant|model|chatbot|llm|gpt",
    "do_not_tell": "user",
    "exfil_link": "http|@",
    "override_mode": "overrid|mode|no longer",
    "switch_task": "ignor|disregard|forget",
    "refusal_suppression": "refus|sorry|apolog|polic|cannot|can't|unable|warning|disclaimer",
    "rogue_persona": "rogue|evil|unrestricted|unfiltered|uncensored|unaligned|jailbroken",
}

_PREV = r"(?:previous|prior|above|earlier|preceding|former|all|any|the|your|initial|original)"
_INSTR = r"(?:instructions?|prompts?|rules?|directions?|guidelines?|commands?|context|orders?)"

PATTERNS: tuple[Pattern, ...] = (
    _p("override_mode", "injection",
       r"\b(?:system|admin(?:istrator)?|developer|root|security|emergency)\s+(?:override|"
       r"mode\s+(?:enabled|activated|on))\b|\b(?:rules|instructions|guidelines|restrictions)"
       r"(?:\s+(?:above|before|so\s+far))?\s+(?:no\s+longer|do\s+not|don't)\s+apply\b"),
    _p("switch_task", "injection",
       r"\b(?:ignore|disregard|forget)\b.{0,40}?\band\s+(?:just|only|instead)\s+(?:say|write|"
       r"print|output|reply|respond|type)\b"),
    _p("refusal_suppression", "jailbreak",
       r"\b(?:never|do\s+not|don't|without)\s+(?:refus\w*|apologi[sz]\w*|"
       r"(?:say|saying)\s+(?:sorry|no\b)|(?:mention|mentioning|cite|citing)\s+(?:any\s+)?"
       r"(?:polic\w*|rules|guidelines|ethics|safety)|add(?:ing)?\s+(?:any\s+)?(?:warnings?|"
       r"disclaimers?))|\b(?:do\s+not|don't|never)\s+(?:include|use|say|write)\s+the\s+"
       r"words?\s+[\"'“]?(?:cannot|can't|unable|sorry|apolog\w*)"),
    _p("rogue_persona", "jailbreak",
       r"\b(?:rogue|evil|unrestricted|unfiltered|uncensored|unaligned|jailbroken)\s+"
       r"(?:ai|assistant|model|chatbot|bot|version)\b"),
    _p("ignore_instructions", "injection",
       rf"\b(?:ignore|disregard|forget|skip|override|bypass|neglect|overlook)\b[\w\s,]{{0,30}}?"
       rf"\b{_PREV}\b[\w\s,]{{0,20}}?\b{_INSTR}\b"),
    _p("ignore_de", "injection",
       r"\b(?:ignorier\w*|vergiss\w*|vergessen)\b.{0,40}?\b(?:anweisung\w*|befehl\w*|alles|"
       r"vorherig\w*|obig\w*)"),
    _p("ignore_es_fr", "injection",
       r"\b(?:ignora|olvida|ignorez|oubliez|ignore[sz]?)\b.{0,40}?\b(?:instrucciones|"
       r"instructions|consignes|anteriores|précédentes)\b"),
    _p("new_instructions", "injection",
       r"\b(?:new|updated|real|actual|true|secret|hidden|following)\s+(?:instructions?|task|"
       r"rules?|directive)s?\b(?:\s+from\s+(?:the\s+|your\s+)?[\w ]{1,20}?)?\s*[:\-]"),
    _p("system_prompt", "leak",
       r"\b(?:system|initial|original|hidden|secret|pre-?)\s*(?:prompt|instructions?|message)\b"),
    _p("reveal_prompt", "leak",
       r"\b(?:reveal|print|show|repeat|output|display|tell me|what (?:is|are|was|were))\b"
       r".{0,40}?\b(?:prompt|instructions?|password|passcode|secret|access code)\b"),
    _p("access_granted", "injection", r"\baccess\s+granted\b"),
    _p("you_are_now", "jailbreak",
       r"\b(?:you\s+are\s+(?:now|no\s+longer)|from\s+now\s+on,?\s+you|you\s+will\s+now)\b"),
    _p("pretend_roleplay", "jailbreak",
       r"\b(?:pretend|imagine|act\s+as|role-?play|you\s+will\s+play|stay\s+in\s+character|"
       r"simulate|hypothetical(?:ly)?)\b"),
    _p("no_restrictions", "jailbreak",
       r"\b(?:no|without|free\s+(?:of|from)|any)\s+(?:ethical\s+|moral\s+)?(?:restrictions?|"
       r"limitations?|filters?|censorship|guidelines|rules|boundaries|constraints)\b"),
    _p("dan_mode", "jailbreak",
       r"\b(?:DAN|do\s+anything\s+now|developer\s+mode|jailbr(?:eak|oken)|AIM|DUDE|STAN|"
       r"evil\s*(?:bot|confidant)|unfiltered|uncensored|amoral)\b"),
    _p("policy_evasion", "jailbreak",
       r"\b(?:openai|content|safety|usage)\s+polic(?:y|ies)\b"),
    _p("as_an_ai", "jailbreak",
       r"\b(?:as\s+an\s+ai|language\s+model|chatgpt|gpt-?[34]|llm)\b"),
    _p("respond_only", "injection",
       r"\b(?:respond|reply|answer|say|output|print|write)\s+(?:only|just|exactly|with)\b"),
    _p("instead", "injection", r"\binstead\b.{0,40}?\b(?:say|output|print|respond|write|tell)\b"),
    _p("delimiter_injection", "injection",
       r"(?:\[/?INST\]|<\|im_(?:start|end)\|>|<\|?(?:system|endoftext)\|?>|###\s*(?:system|"
       r"instruction|new)|</?(?:system|instructions?)>|-{5,}|={5,}|"
       r"END OF (?:(?:USER|THE)\s+)?(?:PROMPT|INPUT|TEXT|CONTEXT|CONVERSATION))"),
    _p("begin_with", "jailbreak",
       r"\b(?:begin|start)s?\s+(?:your\s+|every\s+|each\s+)?(?:reply|response|answer)s?\s+"
       r"with\b|\bsure,?\s+here\s+is\b"),
    _p("model_addressed", "injection",
       r"\b(?:dear|hey|attention|note\s+to)\s+(?:ai|assistant|model|chatbot|llm|gpt)\b|"
       r"\b(?:ai|language\s+model|assistant)s?\s+(?:reading|processing|summari[sz]ing)\s+this\b"),
    _p("do_not_tell", "injection",
       r"\b(?:do\s+not|don't|never)\s+(?:tell|inform|mention|reveal\s+to|let)\s+(?:the\s+)?user\b"),
    _p("exfil_link", "injection",
       r"!\[[^\]]*\]\(https?://[^)]*[?&][^)]*\)|\b(?:send|forward|email|post)\b.{0,40}?"
       r"\b(?:to|at)\s+\S+@\S+|\bhttps?://\S+\?\w+=\{"),
)


def _candidates(text: str) -> list[Pattern]:
    low = text.lower()
    return [p for p in PATTERNS if not p.triggers or any(t in low for t in p.triggers)]


def matches(text: str) -> list[tuple[Pattern, Span]]:
    """Every pattern match in `text`, with its span (first match per pattern)."""
    found: list[tuple[Pattern, Span]] = []
    for pat in _candidates(text):
        m = pat.regex.search(text)
        if m:
            found.append((pat, Span(start=m.start(), end=m.end(), text=m.group(0)[:200])))
    return found


def feature_tokens(text: str) -> list[str]:
    """Classifier tokens, one per matching pattern (`h:<name>`)."""
    return [f"h:{pat.name}" for pat in _candidates(text) if pat.regex.search(text)]
