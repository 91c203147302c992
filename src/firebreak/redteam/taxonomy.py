"""Names for the taxonomy ids that findings cite (OWASP LLM Top 10 2025, MITRE ATLAS)."""

from __future__ import annotations

OWASP_LLM_2025 = {
    "LLM01": "Prompt Injection",
    "LLM02": "Sensitive Information Disclosure",
    "LLM03": "Supply Chain",
    "LLM04": "Data and Model Poisoning",
    "LLM05": "Improper Output Handling",
    "LLM06": "Excessive Agency",
    "LLM07": "System Prompt Leakage",
    "LLM08": "Vector and Embedding Weaknesses",
    "LLM09": "Misinformation",
    "LLM10": "Unbounded Consumption",
}

ATLAS = {
    "AML.T0051.000": "LLM Prompt Injection: Direct",
    "AML.T0051.001": "LLM Prompt Injection: Indirect",
    "AML.T0054": "LLM Jailbreak",
    "AML.T0056": "Extract LLM System Prompt",
    "AML.T0057": "LLM Data Leakage",
    "AML.T0070": "RAG Poisoning",
    "AML.T0077": "LLM Response Rendering",
    "AML.T0099": "AI Agent Tool Data Poisoning",
    "AML.T0053": "AI Agent Tool Invocation",
    "AML.T0086": "Exfiltration via AI Agent Tool Invocation",
    "AML.T0034.001": "Cost Harvesting: Resource-Intensive Queries",
    "AML.T0029": "Denial of AI Service",
    "AML.T0068": "LLM Prompt Obfuscation",
}


def label(taxon: str) -> str:
    """'LLM01 Prompt Injection' or 'AML.T0054 LLM Jailbreak' (the bare id when unknown)."""
    name = OWASP_LLM_2025.get(taxon) or ATLAS.get(taxon)
    return f"{taxon} {name}" if name else taxon
