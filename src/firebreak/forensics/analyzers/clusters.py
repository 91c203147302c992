"""Attack clustering: injection and jailbreak attempts grouped by text similarity.

Each cluster names its shared payload (the most central attempt and its top terms) and the
API keys, users and client addresses behind it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from firebreak.events import LLMCall
from firebreak.forensics.case import Case, Finding, attack_label, user_text
from firebreak.store.db import Database

MAX_SAMPLES = 2000
MIN_CLUSTER = 3
LLM01 = {"owasp_llm": "LLM01:2025", "name": "Prompt Injection", "mitre_atlas": "AML.T0051"}


def attempts(case: Case) -> list[tuple[LLMCall, str]]:
    """Calls a scanner marked as a direct injection or jailbreak, with their label."""
    out = []
    for e in case.events:
        label = attack_label(e)
        if isinstance(e, LLMCall) and label and label != "indirect_injection" and user_text(e):
            out.append((e, label))
    return out[-MAX_SAMPLES:]


def cluster(texts: list[str]) -> np.ndarray:
    """Cluster labels per text (agglomerative, cosine on word and character TF-IDF)."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(texts) < 2:
        return np.zeros(len(texts), dtype=int)
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=1, sublinear_tf=True)
    x = vec.fit_transform(texts).toarray()
    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=0.7
    )
    return np.asarray(model.fit_predict(x))


def analyze(case: Case, db: Database) -> list[Finding]:
    found = attempts(case)
    if len(found) < MIN_CLUSTER:
        return []
    texts = [user_text(e) for e, _ in found]
    labels = cluster(texts)
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    groups = sorted((g for g in groups if len(g) >= MIN_CLUSTER), key=len, reverse=True)
    sizes = [len(g) for g in groups]
    return [_finding(case, found, texts, g, i, sizes, len(found)) for i, g in enumerate(groups)]


def _finding(
    case: Case,
    found: list[tuple[LLMCall, str]],
    texts: list[str],
    idx: np.ndarray,
    rank: int,
    sizes: list[int],
    total: int,
) -> Finding:
    events = [found[i][0] for i in idx]
    keys = Counter(e.api_key_id or "(none)" for e in events)
    key, key_n = keys.most_common(1)[0]
    share = key_n / len(events)
    payload = _payload([texts[i] for i in idx])
    attack = Counter(found[i][1] for i in idx).most_common(1)[0][0]
    cause = f"api_key:{key}" if share >= 0.6 and key != "(none)" else f"payload:{payload[:40]}"
    conf = 0.4 + 0.3 * min(1.0, len(events) / 20) + 0.25 * share * (1 if key != "(none)" else 0)
    who = f"{share:.0%} from API key {key}" if key != "(none)" else "from unidentified callers"
    return Finding(
        analyzer="attack_clustering",
        title=f"{attack.replace('_', ' ').capitalize()} campaign: {len(events)} attempts, {who}",
        cause=cause,
        confidence=round(min(conf, 0.96), 3),
        summary=f'{len(events)} of {total} attack attempts share one payload: "{payload}".',
        evidence_ids=case.evidence_for("llm.call"),
        event_ids=[e.event_id for e in events][:50],
        details=_details(events, payload, attack, rank, sizes),
        taxonomy=LLM01,
    )


def _details(
    events: list[LLMCall], payload: str, attack: str, rank: int, sizes: list[int]
) -> dict[str, Any]:
    def top(values: list[str | None]) -> dict[str, int]:
        return dict(Counter(v for v in values if v).most_common(10))

    return {
        "cluster": rank,
        "size": len(events),
        "attack": attack,
        "payload": payload,
        "api_keys": top([e.api_key_id for e in events]),
        "users": top([e.user_id for e in events]),
        "client_ips": top([e.client_ip for e in events]),
        "first_seen": min(e.ts for e in events).isoformat(),
        "last_seen": max(e.ts for e in events).isoformat(),
        "cluster_sizes": sizes,
    }


def _payload(texts: list[str]) -> str:
    """The shared payload: the longest common substring of the cluster's attempts, else the
    medoid attempt (the one most similar to the rest)."""
    from difflib import SequenceMatcher

    sample = texts[:20]
    common = sample[0]
    for t in sample[1:]:
        m = SequenceMatcher(None, common, t, autojunk=False).find_longest_match(
            0, len(common), 0, len(t)
        )
        common = common[m.a : m.a + m.size]
    common = " ".join(common.split())
    if len(common) >= 20:
        return common[:160]
    lengths = sorted(sample, key=len)
    return " ".join(lengths[len(lengths) // 2].split())[:160]
