"""shell: run a command on the engine's host. Off unless `playbooks.allow_shell: true`.

The command is an argv list (no shell parsing); the environment gets FIREBREAK_INCIDENT_ID,
FIREBREAK_RUN_ID and FIREBREAK_IDEMPOTENCY_KEY so the script can make itself idempotent.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any

from firebreak.actions.base import Action, ActionContext, ActionResult, need
from firebreak.errors import ActionError


class Shell(Action):
    """Run an argv command; exit code 0 is success."""

    name = "shell"

    def run(self, ctx: ActionContext, params: dict[str, Any]) -> ActionResult:
        if not ctx.settings.playbooks.allow_shell:
            raise ActionError("the shell action is disabled; set playbooks.allow_shell: true "
                              "to allow it", recoverable=False)
        argv = need(params, "argv")
        if not isinstance(argv, list) or not argv:
            raise ActionError("parameter 'argv' must be a non-empty list", field="argv")
        env = {**os.environ, "FIREBREAK_INCIDENT_ID": ctx.incident.id,
               "FIREBREAK_RUN_ID": ctx.run_id, "FIREBREAK_IDEMPOTENCY_KEY": ctx.key}
        proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env,
                              timeout=float(params.get("timeout", 60)), check=False)
        return ActionResult(ok=proc.returncode == 0, recoverable=False,
                            detail=f"exit {proc.returncode}",
                            data={"returncode": proc.returncode, "stdout": proc.stdout[-2000:]})
