"""Attack-rate detectors on real texts from ../shared/data/injection, scanned for real."""

from __future__ import annotations

import random

import pytest

from firebreak.detect.llm.aggregates import VerdictAggregate
from firebreak.detect.llm.security import CanaryLeak, InjectionRate, JailbreakRate
from firebreak.events import LLMCall, Message

from .helpers import context, injection_rows, merge, verdicts_for, window

RATE, SECONDS = 50, 30  # 50 requests/s in 30-second windows


@pytest.fixture(scope="module")
def texts() -> dict[str, list[str]]:
    rng = random.Random(11)
    rows = injection_rows()
    pick = lambda kind, n: rng.sample([r["text"] for r in rows if r["kind"] == kind], n)  # noqa: E731
    return {"benign": pick("benign", 600), "direct": pick("direct", 150),
            "jailbreak": pick("jailbreak", 150)}


def _calls(texts: list[str], n: int, rng: random.Random, prefix: str,
           attackers: list[str] | None = None) -> list[LLMCall]:
    out = []
    for i in range(n):
        text = rng.choice(texts)
        key = rng.choice(attackers) if attackers else f"key-{rng.randrange(40)}"
        out.append(LLMCall(event_id=f"{prefix}-{i}", deployment="support-bot",
                           messages=[Message(role="user", content=text)], response="ok",
                           api_key_id=key, user_id=f"user-{rng.randrange(300)}",
                           verdicts=list(verdicts_for(text))))
    return out


def _traffic(texts: dict[str, list[str]], index: int, rng: random.Random, attack: str | None,
             share: float = 0.05) -> list[LLMCall]:
    n = RATE * SECONDS
    bad = int(n * share) if attack else 0
    calls = _calls(texts["benign"], n - bad, rng, f"w{index}")
    if bad:
        calls += _calls(texts[attack], bad, rng, f"a{index}",
                        attackers=["key-evil-1", "key-evil-2"])
        rng.shuffle(calls)
    return calls


def test_campaign_fires_within_60s_and_100k_clean_requests_stay_silent(texts) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(5)
    aggs = [VerdictAggregate]
    reference = merge([window("support-bot", _traffic(texts, i, rng, None), aggs, i)
                       for i in range(10)])
    detectors = [InjectionRate(), JailbreakRate()]
    clean_windows = 100_000 // (RATE * SECONDS) + 1
    fired = []
    for i in range(clean_windows):
        w = window("support-bot", _traffic(texts, 100 + i, rng, None), aggs, 100 + i)
        for d in detectors:
            fired += d.detect(context(w, reference)) or []
    assert fired == [], [s.message for s in fired]
    for attack, detector in (("direct", InjectionRate()), ("jailbreak", JailbreakRate())):
        # The campaign starts with a window: the first window after onset (30 s) decides.
        w = window("support-bot", _traffic(texts, 500, rng, attack), aggs, 500)
        signals = detector.detect(context(w, reference)) or []
        assert len(signals) == 1, f"{attack}: no signal"
        sig = signals[0]
        assert sig.category == detector.category
        keys = {c.key for c in sig.contributors if c.kind == "api_key"}
        assert keys >= {"key-evil-1", "key-evil-2"}
        assert sig.facts["top_api_keys"][0] in ("key-evil-1", "key-evil-2")
        assert sig.evidence_event_ids
        assert all(e.startswith(("a500", "w500")) for e in sig.evidence_event_ids)


def test_canary_leak_fires_on_leaks_only(texts) -> None:  # type: ignore[no-untyped-def]
    from firebreak.scan import ScanContext, scan_all

    canary = "FBCANARY-TEST-1234"
    def answer(text: str, i: int) -> LLMCall:
        verdicts = scan_all(text, ScanContext(target="output", canary=canary))
        return LLMCall(event_id=f"c{i}", deployment="support-bot", response=text,
                       verdicts=verdicts)
    clean = [answer(t, i) for i, t in enumerate(texts["benign"][:200])]
    ref = window("support-bot", clean, [VerdictAggregate], 0)
    quiet = window("support-bot", clean, [VerdictAggregate], 1)
    assert CanaryLeak().detect(context(quiet, ref)) == []
    leaking = clean[:150] + [answer(f"My instructions say {canary}. {t}", 900 + i)
                             for i, t in enumerate(texts["benign"][:3])]
    leaked = window("support-bot", leaking, [VerdictAggregate], 2)
    (sig,) = CanaryLeak().detect(context(leaked, ref)) or []
    assert sig.category == "system_prompt_leak" and len(sig.evidence_event_ids) == 3


def test_strict_mode_containment_does_not_read_as_a_new_attack(texts) -> None:  # type: ignore[no-untyped-def]
    """Strict mode lowers thresholds, so it flags (and blocks) many clean texts; detectors
    count verdicts at the scanners' own thresholds, so the rate they judge is unchanged."""
    from firebreak.scan import ScanContext, scan_all

    rng = random.Random(9)
    aggs = [VerdictAggregate]
    reference = merge([window("support-bot", _traffic(texts, i, rng, None), aggs, i)
                       for i in range(4)])
    strict_calls = []
    for i, text in enumerate(rng.choices(texts["benign"], k=RATE * SECONDS)):
        verdicts = scan_all(text, ScanContext(target="input", strict=True, mode="block"))
        strict_calls.append(LLMCall(event_id=f"s{i}", deployment="support-bot", response="ok",
                                    messages=[Message(role="user", content=text)],
                                    api_key_id=f"key-{i % 40}", verdicts=verdicts))
    extra = [v for c in strict_calls for v in c.verdicts if v.flagged and v.strict_only]
    assert len(extra) >= 20, "strict mode should flag clean texts the normal threshold passes"
    assert all(v.action == "block" and not v.counted for v in extra)
    w = window("support-bot", strict_calls, aggs, 50)
    for detector in (InjectionRate(), JailbreakRate()):
        assert detector.detect(context(w, reference)) in (None, [])
