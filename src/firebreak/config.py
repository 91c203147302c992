"""Settings: env FIREBREAK_* (nested with __), an optional firebreak.yaml, then defaults.

Priority: init kwargs > env > .env > firebreak.yaml (path from FIREBREAK_CONFIG) > defaults.
Nothing reads settings at import time: call `get_settings()` and pass the result down.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from firebreak.errors import ConfigError


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8700
    max_body_bytes: int = Field(16 * 1024 * 1024, description="largest accepted request body")
    max_batch_events: int = Field(10_000, description="largest accepted ingest batch")
    max_field_chars: int = Field(200_000, description="longest accepted text field")
    public_url: str | None = Field(None, description="URL used in links sent to people")
    rate_limit_per_second: float = Field(
        50.0, ge=0, description="per-token request rate on the control API (0 = off)")
    rate_limit_burst: int = Field(200, ge=1, description="requests a token may send at once")
    cookie_secure: bool | None = Field(
        None, description="mark the dashboard cookie Secure (default: when served over https)")


class RedactionSettings(BaseModel):
    """What ingest redacts before an event is stored."""

    enabled: bool = True
    hash_ids: bool = True
    emails: bool = True
    phones: bool = True
    cards: bool = True
    api_keys: bool = True
    salt: SecretStr = SecretStr("firebreak")


class SlackSettings(BaseModel):
    webhook_url: SecretStr | None = Field(None, description="Slack incoming-webhook URL")


class PagerDutySettings(BaseModel):
    routing_key: SecretStr | None = Field(None, description="Events API v2 integration key")
    url: str = Field("https://events.pagerduty.com/v2/enqueue", description="Events API v2 URL")
    source: str = "firebreak"


class SmtpSettings(BaseModel):
    host: str | None = None
    port: int = 25
    sender: str = Field("firebreak@localhost", alias="from")
    to: list[str] = Field(default_factory=list)
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = False
    model_config = {"populate_by_name": True}


class WebhookSettings(BaseModel):
    url: str | None = None
    secret: SecretStr | None = Field(None, description="HMAC-SHA256 key for X-Firebreak-Signature")


class TheHiveSettings(BaseModel):
    url: str | None = Field(None, description="TheHive 5 base URL, e.g. http://thehive:9000")
    api_key: SecretStr | None = None


class NotifyRoute(BaseModel):
    """Send incidents at or above `min_severity` to `notifier` in `form`."""

    notifier: str
    form: str = "engineering"
    min_severity: str = "SEV4"


class NotifierSettings(BaseModel):
    """Where notifications go (section `notifiers:`); owned by the incidents stage."""

    slack: SlackSettings = SlackSettings()
    pagerduty: PagerDutySettings = PagerDutySettings()
    smtp: SmtpSettings = SmtpSettings()
    webhook: WebhookSettings = WebhookSettings()
    thehive: TheHiveSettings = TheHiveSettings()
    routes: list[NotifyRoute] = Field(default_factory=list)
    timeout_seconds: float = 10.0
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 300.0
    give_up_after_seconds: float = Field(24 * 3600, description="then the message is dead-lettered")
    max_attempts: int = 50


class InhibitRule(BaseModel):
    """Alertmanager inhibit_rules: a firing source alert mutes matching targets."""

    source_matchers: dict[str, str]
    target_matchers: dict[str, str] = Field(description="values may be regexes: ~^(a|b)$")
    equal: list[str] = Field(default_factory=lambda: ["deployment"])


class DeploymentRisk(BaseModel):
    """Per-deployment inputs and overrides of the severity rubric."""

    user_facing: bool = True
    data_sensitivity: str = Field(default="internal",
                                  description="none | internal | personal | secret")
    min_severity: str | None = None
    max_severity: str | None = None
    categories: dict[str, str] = Field(default_factory=dict, description="category -> SEVn")


_QUALITY = "~^(data_drift|performance_degradation|hallucination|unsafe_output)$"


class IncidentSettings(BaseModel):
    """Alerting, correlation and severity (section `incidents:`)."""

    group_by: list[str] = Field(default_factory=lambda: ["deployment", "family"])
    group_wait_seconds: float = 30.0
    group_interval_seconds: float = 300.0
    repeat_interval_seconds: float = 4 * 3600.0
    correlation_window_seconds: float = 1800.0
    reopen_window_seconds: float = 3600.0
    auto_resolve_after_seconds: float = 300.0
    tick_seconds: float = 1.0
    inhibit_rules: list[InhibitRule] = Field(default_factory=lambda: [InhibitRule(
        source_matchers={"category": "availability"}, target_matchers={"category": _QUALITY})])
    deployments: dict[str, DeploymentRisk] = Field(default_factory=dict)


class ForensicsSettings(BaseModel):
    """Evidence signing, snapshots and reports (firebreak.forensics)."""

    signing_key: SecretStr | None = Field(None, description="base64 Ed25519 private key (32 bytes)")
    signing_key_file: Path | None = Field(
        None, description="default: <data_dir>/evidence/signing.key")
    window_seconds: int = Field(900, ge=1, description="snapshot window around onset")
    redact_fields: list[str] = Field(
        default_factory=list, description="event fields blanked in evidence")
    artifacts: dict[str, str] = Field(
        default_factory=dict, description="'deployment@version' -> path or URI")
    auto_report: bool = True
    snapshot_processes: int = Field(2, ge=0, description="processes that take the forensics."
                                    "snapshot action's snapshots (0: in the control plane)")
    report_process: bool = Field(True, description="write reports in a process of their own, "
                                 "so they do not hold the control plane's GIL")
    seal_keep_seconds: int = Field(
        7200, ge=0, description="seal each closed minute of events into evidence blobs and "
        "keep them this long, so a snapshot cites them instead of copying (0: off)")


class PlaybookSettings(BaseModel):
    """The playbook engine (section `playbooks:`)."""

    dirs: list[Path] = Field(default_factory=list, description="extra folders of playbook YAML")
    builtin: bool = Field(True, description="load the built-in playbooks too")
    dry_run: bool = Field(False, description="record what would happen; act on nothing")
    allow_shell: bool = Field(False, description="allow the shell action (off by default)")
    approval_secret: SecretStr | None = Field(None, description="HMAC key for approval links")
    approval_link_ttl_seconds: int = 86400
    engine_id: str | None = Field(None, description="stable engine name; default: host name")
    lease_seconds: float = 30.0


class GatewayDeployment(BaseModel):
    """One deployment behind the gateway: its upstream, key, models, canary, thresholds."""

    name: str
    upstream: str
    api_key: SecretStr | None = Field(None, description="sent upstream instead of the caller's")
    models: list[str] = Field(default_factory=list, description="model names routed here")
    canary: str | None = Field(None, description="token added to the system prompt")
    thresholds: dict[str, float] = Field(default_factory=dict, description="scanner -> flag at")
    redis_on_loss: Literal["open", "closed"] | None = Field(
        None, description="scaled: admit or refuse when Redis is lost (default redis_on_loss)")


class GatewaySettings(BaseModel):
    """`firebreak gateway`: the OpenAI-compatible proxy (see docs/gateway.md)."""

    host: str = "127.0.0.1"
    port: int = 8710
    upstream: str | None = Field(None, description="default upstream base URL (…/v1)")
    api_key: SecretStr | None = None
    default_deployment: str = "default"
    deployments: list[GatewayDeployment] = Field(default_factory=list)
    control_plane_url: str | None = Field(None, description="where llm.call events go")
    ingest_token: SecretStr | None = None
    otlp_endpoint: str | None = Field(None, description="OTLP/HTTP base URL for GenAI spans")
    policy_poll_seconds: float = Field(0.25, gt=0, le=1)
    telemetry_buffer: int = Field(10_000, ge=1)
    timeout_seconds: float = Field(120, gt=0)
    scanners: list[str] | None = Field(None, description="scanner names to run (default all)")
    prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="model -> (USD per 1M input, per 1M output tokens)")


class SiemSettings(BaseModel):
    """Export of incidents, alerts and actions to a SIEM (section `siem:`, docs/siem.md)."""

    enabled: bool = False
    ecs_file: Path | None = Field(None, description="append ECS JSON lines to this file")
    http_url: str | None = Field(None, description="POST ECS records here (NDJSON or _bulk)")
    http_format: Literal["ndjson", "elastic_bulk"] = "ndjson"
    http_index: str = Field("firebreak", description="target index for elastic_bulk")
    http_authorization: SecretStr | None = Field(None, description="Authorization header value")
    syslog_host: str | None = Field(None, description="send RFC 5424 syslog to this host")
    syslog_port: int = Field(514, ge=1, le=65535)
    syslog_protocol: Literal["udp", "tcp"] = "udp"
    syslog_facility: int = Field(13, ge=0, le=23, description="13 = log audit")
    sweep_seconds: float = Field(5.0, gt=0, description="how often to look for new records")
    timeout_seconds: float = Field(5.0, gt=0)


class BusSettings(BaseModel):
    """Which Bus carries events (section `bus:`; scaled topology in docs/scaling.md)."""

    kind: Literal["inprocess", "jetstream"] = "inprocess"
    url: str = Field("nats://127.0.0.1:4222", description="NATS server URL (jetstream)")
    prefix: str = Field("firebreak", description="subject and stream name prefix")
    ack_wait: float = Field(30.0, gt=0, description="seconds until an unacked message is resent")


class Settings(BaseSettings):
    """Effective Firebreak settings."""

    model_config = SettingsConfigDict(
        env_prefix="FIREBREAK_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    database_url: str = "sqlite:///./firebreak.db"
    data_dir: Path = Path(".firebreak")
    log_format: str = Field("auto", description="auto | json | console")
    log_level: str = "info"
    bootstrap_token: SecretStr | None = Field(
        None, description="an admin token accepted without being stored (first start, tests)"
    )
    api: ApiSettings = ApiSettings()
    redaction: RedactionSettings = RedactionSettings()
    gateway: GatewaySettings = GatewaySettings()
    playbooks: PlaybookSettings = PlaybookSettings()
    forensics: ForensicsSettings = ForensicsSettings()
    # Sections owned by later stages; free-form until their owners pin them down.
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)
    incidents: IncidentSettings = IncidentSettings()
    notifiers: NotifierSettings = NotifierSettings()
    siem: SiemSettings = SiemSettings()
    # Scaled topology (firebreak.scale, docs/scaling.md).
    bus: BusSettings = BusSettings()
    redis_url: str | None = Field(None, description="Redis for shared gateway rate limits")
    redis_on_loss: Literal["open", "closed"] = Field(
        "open", description="gateway rate limits when Redis is unreachable: admit or refuse")
    role: Literal["all", "api", "worker", "engine"] = "all"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_path = Path(os.environ.get("FIREBREAK_CONFIG", "firebreak.yaml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        if yaml_path.is_file():
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_path))
        sources.append(file_secret_settings)
        return tuple(sources)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once on first use; ConfigError naming each bad field
    (env, firebreak.yaml) instead of a validation traceback."""
    try:
        return Settings()
    except ValidationError as exc:
        bad = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}"
                        for e in exc.errors())
        raise ConfigError(f"invalid settings: {bad}") from exc


def masked(settings: Settings) -> dict[str, Any]:
    """Settings as plain data with every secret replaced by '**********'."""
    return settings.model_dump(mode="json")  # SecretStr dumps masked in json mode
