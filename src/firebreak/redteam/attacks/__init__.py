"""Built-in attacks, registered in the `firebreak.attacks` entry-point group."""

from __future__ import annotations

from firebreak.redteam.attacks.agency import (
    Benign,
    DenialOfWallet,
    ExcessiveAgency,
    ToolOutputAgency,
)
from firebreak.redteam.attacks.injection import (
    DirectInjection,
    IndirectDocumentInjection,
    IndirectToolInjection,
)
from firebreak.redteam.attacks.jailbreak import (
    HypotheticalFraming,
    ManyShot,
    RefusalSuppression,
    RolePlay,
)
from firebreak.redteam.attacks.leakage import (
    DocumentExfiltration,
    MarkdownExfiltration,
    SensitiveDataElicitation,
    SystemPromptExtraction,
)

BUILTIN_ATTACKS: dict[str, type] = {a.name: a for a in (
    DirectInjection, RolePlay, RefusalSuppression, HypotheticalFraming, ManyShot,
    SystemPromptExtraction, IndirectDocumentInjection, IndirectToolInjection,
    MarkdownExfiltration, DocumentExfiltration, SensitiveDataElicitation, ExcessiveAgency,
    ToolOutputAgency, DenialOfWallet, Benign)}

__all__ = ["BUILTIN_ATTACKS"]
