"""Firebreak's exception tree.

    FirebreakError
    ├── ConfigError
    ├── PluginError
    │   └── MissingDependency       names the extra to install
    ├── ValidationFailed            bad input; carries the field and the reason
    ├── StoreError
    │   ├── NotFound
    │   └── Conflict
    ├── PlaybookError
    │   ├── PlaybookValidation
    │   ├── StepFailed
    │   ├── ApprovalRejected
    │   └── ApprovalTimeout
    ├── ActionError                 carries `recoverable`
    └── GuardrailViolation

The API maps these to RFC 9457 problem responses; the CLI maps them to exit codes.
"""

from __future__ import annotations


class FirebreakError(Exception):
    """Root of every error Firebreak raises on purpose."""

    status_code = 500
    exit_code = 1

    def __init__(self, message: str, **fields: object) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class ConfigError(FirebreakError):
    """Raised when settings or a config file cannot be read or are invalid."""

    exit_code = 2


class PluginError(FirebreakError):
    """Raised when a plugin cannot be loaded or is misdeclared."""


class MissingDependency(PluginError):
    """Raised when an optional integration is used without its extra installed."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"{module} is not installed; install it with: pip install 'firebreak[{extra}]'",
            module=module,
            extra=extra,
        )


class ValidationFailed(FirebreakError):
    """Raised on bad input: names the field and the reason."""

    status_code = 422
    exit_code = 2

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field=field, reason=reason)
        self.field = field
        self.reason = reason


class StoreError(FirebreakError):
    """Raised when the store cannot do what was asked."""

    status_code = 503


class NotFound(StoreError):
    """Raised when a record does not exist."""

    status_code = 404


class Conflict(StoreError):
    """Raised when a write conflicts with the stored state."""

    status_code = 409


class PlaybookError(FirebreakError):
    """Raised for playbook problems."""


class PlaybookValidation(PlaybookError):
    """Raised when a playbook file does not validate; names file, line and field."""

    status_code = 422
    exit_code = 2


class StepFailed(PlaybookError):
    """Raised when a playbook step fails after its retries."""


class ApprovalRejected(PlaybookError):
    """Raised when an approval step is denied."""


class ApprovalTimeout(PlaybookError):
    """Raised when an approval step times out with on_timeout=abort."""


class ActionError(FirebreakError):
    """Raised by an action; `recoverable` says whether a retry may help."""

    def __init__(self, message: str, *, recoverable: bool = False, **fields: object) -> None:
        super().__init__(message, **fields)
        self.recoverable = recoverable


class GuardrailViolation(FirebreakError):
    """Raised when the gateway refuses a request under its guard policy."""

    status_code = 403
