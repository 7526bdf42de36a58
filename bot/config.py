"""Configuration: a TOML file overlaid by ``NIGHTOWL_*`` environment variables.

Every key is documented in ``config.example.toml``. Unknown keys are refused so a
typo is caught at start-up rather than silently ignored; secrets are ``SecretStr``
and only ever printed masked.
"""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.queues import BuddyConfig, QueueConfig

DEFAULT_CONFIG_FILE = Path("config.toml")


class ConfigError(Exception):
    """Bad configuration, reported as one line naming the field."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    max_body_bytes: int = Field(64 * 1024, ge=1024)

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


class DatabaseConfig(Section):
    url: str = "sqlite+aiosqlite:///./var/nightowl.db"
    busy_timeout_ms: int = Field(5000, ge=0)


class LogConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_lines: bool = True


class TelegramConfig(Section):
    token: SecretStr | None = None
    mode: Literal["webhook", "polling"] = "webhook"
    webhook_secret: SecretStr | None = None
    register_webhook: bool = True
    api_base_url: str = "https://api.telegram.org"
    messages_per_second: float = Field(30, gt=0)
    per_chat_per_second: float = Field(1, gt=0)
    poll_timeout_seconds: int = Field(25, ge=0, le=50)

    @property
    def enabled(self) -> bool:
        return bool(self.token and self.token.get_secret_value())


class SmsConfig(Section):
    account_sid: str | None = None
    auth_token: SecretStr | None = None
    from_number: str | None = None
    api_base_url: str = "https://api.twilio.com"
    segments_per_second: float = Field(1, gt=0)
    validity_period_seconds: int = Field(3600, ge=1, le=36000)
    max_segments_per_message: int = Field(10, ge=1, le=10)
    default_region: str = "GB"

    @property
    def enabled(self) -> bool:
        return bool(self.account_sid and self.auth_token and self.from_number)


class SimConfig(Section):
    enabled: Literal["auto", "on", "off"] = "auto"


class DispatchConfig(Section):
    max_attempts: int = Field(8, ge=1)
    backoff_base_seconds: float = Field(1.0, gt=0)
    backoff_max_seconds: float = Field(300.0, gt=0)
    lease_seconds: float = Field(60.0, gt=0)
    concurrency: int = Field(32, ge=1)
    poll_seconds: float = Field(1.0, gt=0)


class RolesConfig(Section):
    coordinators: list[str] = Field(default_factory=list)
    on_call: list[str] = Field(default_factory=list)

    @field_validator("coordinators", "on_call")
    @classmethod
    def _channel_address(cls, value: list[str]) -> list[str]:
        for item in value:
            channel, _, address = item.partition(":")
            if channel not in {"telegram", "sms", "sim"} or not address:
                raise ValueError(
                    f"{item!r} should look like telegram:123, sms:+447700900123 or sim:name"
                )
        return value

    @model_validator(mode="after")
    def _on_call_are_coordinators(self) -> RolesConfig:
        stray = set(self.on_call) - set(self.coordinators)
        if stray:
            raise ValueError("every on_call entry must also be in coordinators")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NIGHTOWL_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    timezone: str = "Europe/London"
    server: ServerConfig = Field(default_factory=ServerConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    log: LogConfig = Field(default_factory=LogConfig)
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    sms: SmsConfig = Field(default_factory=SmsConfig)
    sim: SimConfig = Field(default_factory=SimConfig)
    dispatch: DispatchConfig = Field(default_factory=DispatchConfig)
    roles: RolesConfig = Field(default_factory=RolesConfig)
    buddies: BuddyConfig = Field(default_factory=BuddyConfig)
    queues: list[QueueConfig] = Field(default_factory=lambda: [QueueConfig(name="default")])

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init kwargs; the environment overrides it.
        return (env_settings, init_settings)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _default_queue(self) -> Settings:
        names = [q.name for q in self.queues]
        if len(set(names)) != len(names):
            raise ValueError("queues: two queues have the same name")
        if "default" not in names:
            self.queues.append(QueueConfig(name="default", timezone=self.timezone))
        return self

    def queue(self, name: str) -> QueueConfig:
        """The named queue, or the default one."""
        return next((q for q in self.queues if q.name == name), self.queues_by_name["default"])

    @property
    def queues_by_name(self) -> dict[str, QueueConfig]:
        return {q.name: q for q in self.queues}

    @model_validator(mode="after")
    def _secrets_in_pairs(self) -> Settings:
        tg = self.telegram
        if tg.enabled and tg.mode == "webhook" and not tg.webhook_secret:
            raise ValueError(
                "telegram.token is set for webhook mode but telegram.webhook_secret is not"
            )
        sms_parts = {
            "sms.account_sid": bool(self.sms.account_sid),
            "sms.auth_token": bool(self.sms.auth_token and self.sms.auth_token.get_secret_value()),
            "sms.from_number": bool(self.sms.from_number),
        }
        if any(sms_parts.values()) and not all(sms_parts.values()):
            missing = ", ".join(k for k, ok in sms_parts.items() if not ok)
            raise ValueError(f"SMS is half configured: {missing} missing")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sim_enabled(self) -> bool:
        if self.sim.enabled == "auto":
            return self.server.is_loopback
        return self.sim.enabled == "on"

    def channel_status(self) -> dict[str, str]:
        """One line per channel for the start-up banner: enabled, or disabled and why."""
        tg = self.telegram
        return {
            "telegram": f"enabled ({tg.mode})" if tg.enabled else "disabled: no telegram.token",
            "sms": "enabled"
            if self.sms.enabled
            else "disabled: no sms.account_sid/auth_token/from_number",
            "sim": "enabled at /sim"
            if self.sim_enabled
            else f"disabled: sim.enabled is {self.sim.enabled!r} and server.host is not loopback",
        }

    def masked(self) -> dict[str, Any]:
        """The effective config as plain data with every secret shown as ********."""
        return self.model_dump(mode="json")  # SecretStr dumps as "**********"


def _one_line(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "config"
    if first["type"] == "extra_forbidden":
        what = "unknown key"
    else:
        what = first["msg"].removeprefix("Value error, ")
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"config error in {source}: {where}: {what}{more}"


def load_settings(path: Path | None = None) -> Settings:
    """Load config from ``path`` (default ``./config.toml`` if present) plus env.

    Raises ``ConfigError`` with a one-line message on any problem.
    """
    data: dict[str, Any] = {}
    source = "environment"
    if path is not None and not path.exists():
        raise ConfigError(f"config error: file not found: {path}")
    chosen = path or (DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.exists() else None)
    if chosen is not None:
        source = str(chosen)
        try:
            data = tomllib.loads(chosen.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config error in {source}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"config error: cannot read {source}: {exc.strerror}") from None
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, source)) from None
