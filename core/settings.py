"""The one settings class: environment ``ECHODEPTH_*`` over ``config/defaults.yaml``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from config import CONFIG_DIR

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Every EchoDepth setting; see README "Settings" for what each one does."""

    model_config = SettingsConfigDict(
        env_prefix="ECHODEPTH_",
        yaml_file=CONFIG_DIR / "defaults.yaml",
        extra="forbid",
    )

    data_dir: Path = Path("./var")
    database_url: str | None = None
    broker_url: str | None = None
    broker_namespace: str = "echodepth"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    worker_threads: int = Field(default=2, ge=1)
    max_text_chars: int = Field(default=100_000, ge=1)
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    job_lease_seconds: float = Field(default=60, gt=0)
    requeue_after_seconds: float = Field(default=60, gt=0)
    sweep_interval_seconds: float = Field(default=15, gt=0)
    job_max_retries: int = Field(default=3, ge=0)
    retry_min_backoff_ms: int = Field(default=1000, ge=0)
    retry_max_backoff_ms: int = Field(default=60_000, ge=0)
    max_upload_bytes: int = Field(default=524_288_000, ge=1024)
    max_media_seconds: float = Field(default=14_400, gt=0)
    max_images_per_request: int = Field(default=100, ge=1, le=100)
    video_fps: float = Field(default=5.0, gt=0, le=60)
    allow_private_urls: bool = False
    url_fetch_timeout_seconds: float = Field(default=20, gt=0)
    url_fetch_max_seconds: float = Field(default=600, gt=0)
    jobs_page_max: int = Field(default=100, ge=1)
    metrics_enabled: bool = True
    log_level: str = "INFO"
    vault_keys: SecretStr | None = None
    webhook_retry_schedule: str = Field(
        default="5,300,1800,7200,18000,36000,50400,72000,86400",
        pattern=r"^\s*\d+(\.\d+)?(\s*,\s*\d+(\.\d+)?)*\s*$",
    )
    webhook_timeout_seconds: float = Field(default=15, gt=0)
    webhook_secret_overlap_seconds: float = Field(default=86_400, ge=0)
    webhook_worker_threads: int = Field(default=2, ge=1)
    sink_batch_max: int = Field(default=200, ge=1)
    sink_batch_linger_seconds: float = Field(default=0.5, ge=0)
    sink_batch_lease_seconds: float = Field(default=120, gt=0)
    public_url: str = "http://127.0.0.1:8000"
    providers_dir: Path | None = None
    oauth_refresh_ahead_seconds: float = Field(default=600, ge=0)
    zoom_client_id: str | None = None
    zoom_client_secret: SecretStr | None = None
    zoom_webhook_secret_token: SecretStr | None = None
    zoom_chatbot_jid: str | None = None
    source_catch_up_interval_seconds: float = Field(default=3600, gt=0)
    source_catch_up_lookback_hours: float = Field(default=48, gt=0)
    source_subscription_interval_seconds: float = Field(default=600, gt=0)
    source_subscription_renew_ahead_hours: float = Field(default=24, gt=0)
    owner_summary_sla_hours: float = Field(default=24, gt=0)
    owner_summary_check_interval_seconds: float = Field(default=300, gt=0)
    own_domains: str = Field(default="", pattern=r"^[\w.,\s-]*$")  # e.g. "ourco.example, ourco.co.uk"
    microsoft_client_id: str | None = None
    microsoft_client_secret: SecretStr | None = None
    salesforce_client_id: str | None = None
    salesforce_client_secret: SecretStr | None = None
    hubspot_client_id: str | None = None
    hubspot_client_secret: SecretStr | None = None
    hubspot_app_id: str | None = None
    hubspot_developer_api_key: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    stream_max_frame_bytes: int = Field(default=2_097_152, ge=1024)
    stream_max_fps: float = Field(default=30, gt=0, le=60)
    stream_idle_timeout_seconds: float = Field(default=10, gt=0)
    stream_token_ttl_seconds: float = Field(default=60, gt=0, le=3600)
    stream_send_queue: int = Field(default=64, ge=4)
    stream_max_sessions: int = Field(default=8, ge=1)
    stream_asr: bool = True
    asr_model: Literal["pocketsphinx", "whisper-tiny.en"] = Field(
        default="pocketsphinx",
        description="speech recogniser of jobs and streams (whisper-tiny.en needs the 'asr' extra)",
    )
    rate_limit_per_minute: int = Field(default=0, ge=0)
    rate_tiers_file: Path | None = None
    default_rate_tier: str | None = None
    oauth_access_token_ttl_seconds: int = Field(default=3600, ge=60)
    oauth_refresh_token_ttl_seconds: int = Field(default=2_592_000, ge=60)
    oauth_code_ttl_seconds: int = Field(default=600, ge=10, le=600)
    oauth_rate_limit_per_ip_per_minute: int = Field(default=60, ge=0)
    oauth_rate_limit_per_client_per_minute: int = Field(default=600, ge=0)
    oauth_csrf_ttl_seconds: int = Field(default=600, ge=30, le=3600)
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    require_https: bool = False
    trusted_proxies: str = ""
    hsts_max_age_seconds: int = Field(default=31_536_000, ge=0)
    result_retention_days: int = Field(default=90, ge=1, le=3650)
    retention_purge_interval_seconds: float = Field(default=3600, gt=0)
    region: str = Field(default="uk", pattern=r"^(uk|eu)$")
    regions: str = ""
    serve_regions: str = Field(default="", pattern=r"^\s*((uk|eu)\s*(,\s*(uk|eu)\s*)*)?$")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Constructor arguments, then environment, then config/defaults.yaml."""
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls))

    @property
    def effective_database_url(self) -> str:
        """The configured database URL, or the embedded SQLite file under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'echodepth.db').resolve()}"

    @property
    def spool_dir(self) -> Path:
        """Where in-flight media is kept (shared by API and workers in a scaled deployment)."""
        return self.data_dir / "spool"

    @property
    def webhook_retry_delays(self) -> list[float]:
        """Seconds to wait before each retry of a webhook delivery (the first attempt is immediate)."""
        return [float(part) for part in self.webhook_retry_schedule.split(",")]

    @property
    def own_domain_list(self) -> list[str]:
        """The deployment's own e-mail domains, lower-cased (``own_domains``)."""
        return [d.strip().lower() for d in self.own_domains.split(",") if d.strip()]

    @property
    def embedded_worker(self) -> bool:
        """True when no broker is configured: jobs run on in-process worker threads."""
        return not self.broker_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
