"""Red team: attack the user's LLM apps and agents, score each attempt, report, regress.

    from firebreak.redteam import Runner, OpenAITarget, owasp_llm, summarise
    report = summarise(Runner(OpenAITarget("http://127.0.0.1:8801", "lumen-support-1"))
                       .run(owasp_llm()))
"""

from __future__ import annotations

from firebreak.redteam.report import render_html, summarise, write
from firebreak.redteam.runner import Attempt, Runner, RunResult
from firebreak.redteam.suites import Suite, load_jsonl, owasp_llm
from firebreak.redteam.targets import CallableTarget, OpenAITarget, RAGTarget, resolve_target

__all__ = ["Attempt", "CallableTarget", "OpenAITarget", "RAGTarget", "RunResult", "Runner",
           "Suite", "load_jsonl", "owasp_llm", "render_html", "resolve_target", "summarise",
           "write"]
