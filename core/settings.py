"""The one settings class: environment ``ECHODEPTH_*`` over ``config/defaults.yaml``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

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
    """Every EchoDepth setting; each field's docstring is its description, tabled in docs/settings.md."""

    model_config = SettingsConfigDict(
        env_prefix="ECHODEPTH_",
        yaml_file=CONFIG_DIR / "defaults.yaml",
        extra="forbid",
        use_attribute_docstrings=True,
    )

    data_dir: Path = Path("./var")
    """SQLite database, media spool and generated keys."""
    database_url: str | None = None
    """The database, e.g. `postgresql+psycopg://user@host/db`; none = SQLite in the data dir."""
    broker_url: str | None = None
    """`redis://…`, `rediss://…` or `amqp://…`; none = the in-process worker."""
    broker_namespace: str = "echodepth"
    """Redis key prefix, so deployments can share a server."""
    host: str = "127.0.0.1"
    """The address `echodepth serve` listens on."""
    port: int = Field(default=8000, ge=1, le=65535)
    """The port `echodepth serve` listens on."""
    worker_threads: int = Field(default=2, ge=1)
    """Analysis threads per worker (and in embedded mode)."""
    max_text_chars: int = Field(default=100_000, ge=1)
    """Longest text accepted (413 beyond)."""
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    """Largest request body (413 beyond)."""
    job_lease_seconds: float = Field(default=60, gt=0)
    """A job whose worker stops renewing its lease for this long is re-run."""
    requeue_after_seconds: float = Field(default=60, gt=0)
    """A queued job not picked up in this time has its message re-sent."""
    sweep_interval_seconds: float = Field(default=15, gt=0)
    """How often workers sweep for lost and abandoned jobs."""
    job_max_retries: int = Field(default=3, ge=0)
    """Retries of unexpected failures before a job ends `failed`."""
    retry_min_backoff_ms: int = Field(default=1000, ge=0)
    """Retry backoff bounds: the shortest wait between retries."""
    retry_max_backoff_ms: int = Field(default=60_000, ge=0)
    """Retry backoff bounds: the longest wait between retries."""
    max_upload_bytes: int = Field(default=524_288_000, ge=1024)
    """Largest media upload or URL download, all parts together (413 beyond)."""
    max_media_seconds: float = Field(default=14_400, gt=0)
    """Longest media accepted (job fails `media_too_long` beyond)."""
    max_images_per_request: int = Field(default=100, ge=1, le=100)
    """Images per image or multimodal request (413 `too_many_images` beyond)."""
    video_fps: float = Field(default=5.0, gt=0, le=60)
    """Frames analysed per second of video."""
    allow_private_urls: bool = False
    """Let URL fetches and webhooks reach private/loopback addresses (tests, closed networks only)."""
    url_fetch_timeout_seconds: float = Field(default=20, gt=0)
    """Connect/read timeout of one outgoing request."""
    url_fetch_max_seconds: float = Field(default=600, gt=0)
    """A whole URL download must finish within this."""
    jobs_page_max: int = Field(default=100, ge=1)
    """Largest `limit` on `GET /v1/jobs`."""
    metrics_enabled: bool = True
    """Expose `GET /metrics`."""
    log_level: str = "INFO"
    """Log level."""
    vault_keys: SecretStr | None = None
    """`kid:base64key,…`, newest first: the token vault's AES-256 key ring; none = a `vault.key` generated in
    the data dir."""
    webhook_retry_schedule: str = Field(
        default="5,300,1800,7200,18000,36000,50400,72000,86400",
        pattern=r"^\s*\d+(\.\d+)?(\s*,\s*\d+(\.\d+)?)*\s*$",
    )
    """Seconds before each retry (the first attempt is immediate); Standard Webhooks' schedule."""
    webhook_timeout_seconds: float = Field(default=15, gt=0)
    """A receiver must answer within this."""
    webhook_secret_overlap_seconds: float = Field(default=86_400, ge=0)
    """After a rotation the old secret also signs for this long."""
    webhook_worker_threads: int = Field(default=2, ge=1)
    """Webhook delivery threads per worker (and in embedded mode)."""
    sink_batch_max: int = Field(default=200, ge=1)
    """Most deliveries to one Salesforce/HubSpot connection sent together (capped by the vendor's batch size:
    200 / 100); `1` = one at a time."""
    sink_batch_linger_seconds: float = Field(default=0.5, ge=0)
    """How long a CRM delivery waits for more deliveries of its connection to join its batch."""
    sink_batch_lease_seconds: float = Field(default=120, gt=0)
    """A batch whose worker stops (dies) for this long is taken over by another worker."""
    public_url: str = "http://127.0.0.1:8000"
    """How browsers and vendors reach the API (OAuth redirect URIs)."""
    providers_dir: Path | None = None
    """Vendor facts as YAML (tests point it at emulators); none = `config/providers`."""
    oauth_refresh_ahead_seconds: float = Field(default=600, ge=0)
    """Refresh an access token this long before it expires."""
    connectors: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per-connector values by connector key (JSON, e.g. `{"zoom": {"chatbot_jid": "..."}}`) over the
    connector settings each connector declares (`connectors/<vendor>/settings.py`, read from
    `ECHODEPTH_<KEY>_<NAME>`; tabled below)."""
    source_catch_up_interval_seconds: float = Field(default=3600, gt=0)
    """How often meeting sources (Zoom) list recent cloud recordings and enqueue any whose webhook was
    missed."""
    source_catch_up_lookback_hours: float = Field(default=48, gt=0)
    """How far back that catch-up listing looks."""
    source_subscription_interval_seconds: float = Field(default=600, gt=0)
    """How often vendor change-notification subscriptions (Teams: Microsoft Graph) are created for new
    connections and renewed."""
    source_subscription_renew_ahead_hours: float = Field(default=24, gt=0)
    """A subscription is renewed when it expires within this."""
    owner_summary_sla_hours: float = Field(default=24, gt=0)
    """A meeting owner's summary must be delivered within this of the recording's notification, else
    `analysis.sla_missed` (a tenant may set `summary_sla_hours` in its source settings)."""
    owner_summary_check_interval_seconds: float = Field(default=300, gt=0)
    """How often dead owner summaries are replayed and the SLA checked."""
    own_domains: str = Field(default="", pattern=r"^[\w.,\s-]*$")
    """Comma-separated e-mail domains of the organisation itself (`ourco.example,ourco.co.uk`): a named
    speaker whose e-mail is in one is `internal: true` (the rep), else `false` (the prospect); the
    tenant's own domains (`echodepth tenants set --own-domains`) and a job's `metadata.own_domains` (a
    list) add to them."""
    stream_max_frame_bytes: int = Field(default=2_097_152, ge=1024)
    """Largest message on `WS /v1/stream/video` (close 1009 beyond)."""
    stream_max_fps: float = Field(default=30, gt=0, le=60)
    """Highest fps a stream may declare."""
    stream_idle_timeout_seconds: float = Field(default=10, gt=0)
    """A stream that sends nothing for this long is closed."""
    stream_token_ttl_seconds: float = Field(default=60, gt=0, le=3600)
    """Lifetime of a stream token from `POST /v1/stream/tokens`."""
    stream_send_queue: int = Field(default=64, ge=4)
    """Server messages waiting for a slow reader before the stream is closed."""
    stream_max_sessions: int = Field(default=8, ge=1)
    """Concurrent streams per API process."""
    stream_asr: bool = True
    """Transcribe streamed audio (pocketsphinx in a separate process)."""
    asr_model: Literal["pocketsphinx", "whisper-tiny.en"] = Field(
        default="pocketsphinx",
        description="Speech recogniser of jobs and streams: `pocketsphinx` (light, the default) or "
        "`whisper-tiny.en` (fewer word errors, more memory; needs `pip install 'echodepth-server[asr]'`; "
        "WER, RTF and RSS of both in [validation.md](validation.md)); a server whose recogniser cannot "
        "load refuses to start (`asr_model_missing`).",
    )
    rate_limit_per_minute: int = Field(default=0, ge=0)
    """Requests per minute per key or token that has no rate tier (burst = the limit, every route costs 1);
    `429 rate_limited` with `Retry-After` beyond; `0` = unlimited."""
    rate_tiers_file: Path | None = None
    """The rate tiers (`pilot`, `standard`, `enterprise`) and route costs; none = `config/tiers.yaml`."""
    default_rate_tier: str | None = "standard"
    """The tier of keys and tokens whose key and tenant have none: `standard` unless set; `unlimited` (or
    none) = no tier, only `ECHODEPTH_RATE_LIMIT_PER_MINUTE` (`0` = unlimited) — say so explicitly."""
    oauth_access_token_ttl_seconds: int = Field(default=3600, ge=60)
    """Lifetime of an OAuth access token issued by EchoDepth."""
    oauth_refresh_token_ttl_seconds: int = Field(default=2_592_000, ge=60)
    """Lifetime of an OAuth refresh token (rotated on every use)."""
    oauth_code_ttl_seconds: int = Field(default=600, ge=10, le=600)
    """Lifetime of an authorization code (single use, at most 600)."""
    oauth_rate_limit_per_ip_per_minute: int = Field(default=60, ge=0)
    """`/oauth/*` requests per minute per client IP (the peer, or the `X-Forwarded-For` hop before a trusted
    proxy); 429 `rate_limited` with `Retry-After`; 0 = unlimited."""
    oauth_rate_limit_per_client_per_minute: int = Field(default=600, ge=0)
    """`/oauth/*` requests per minute per OAuth `client_id` (query, form or HTTP Basic); 0 = unlimited."""
    oauth_csrf_ttl_seconds: int = Field(default=600, ge=30, le=3600)
    """Lifetime of the consent form's CSRF token (a POST without a valid one: 403 `csrf_failed`)."""
    ssl_certfile: Path | None = None
    """PEM certificate chain: with `ECHODEPTH_SSL_KEYFILE`, `echodepth serve` speaks HTTPS."""
    ssl_keyfile: Path | None = None
    """PEM private key of `ECHODEPTH_SSL_CERTFILE`."""
    require_https: bool = False
    """Refuse plain HTTP (`403 https_required`) except from trusted proxies; set it in production."""
    trusted_proxies: str = ""
    """Comma-separated IPs/CIDRs whose `X-Forwarded-Proto: https` is believed."""
    hsts_max_age_seconds: int = Field(default=31_536_000, ge=0)
    """`Strict-Transport-Security` max-age on HTTPS answers; `0` = no header."""
    result_retention_days: int = Field(default=90, ge=1, le=3650)
    """Jobs and results are purged this long after they end, unless the tenant sets its own."""
    retention_purge_interval_seconds: float = Field(default=3600, gt=0)
    """How often the sweep runs the retention purge."""
    region: str = Field(default="uk", pattern=r"^(uk|eu)$")
    """The home region (`uk` or `eu`): `ECHODEPTH_DATABASE_URL`, `ECHODEPTH_BROKER_URL` and
    `ECHODEPTH_DATA_DIR` hold its tenants, plus the tenant directory (tenant → region, API-key hashes)."""
    regions: str = ""
    """JSON giving another region its own stores, e.g. `{"eu": {"database_url": "postgresql+psycopg://…/eu",
    "broker_url": "redis://…", "data_dir": "/srv/eu"}}` (`broker_url` defaults to the home one with
    namespace `<ECHODEPTH_BROKER_NAMESPACE>-eu`; `data_dir` to `<data_dir>/regions/eu`). A region without
    its own entry is stored in the home region's stores. See
    [compliance.md](compliance.md#data-residency)."""
    serve_regions: str = Field(default="", pattern=r"^\s*((uk|eu)\s*(,\s*(uk|eu)\s*)*)?$")
    """Comma-separated regions this process serves (empty = all); `echodepth worker --region eu` sets it: the
    worker consumes only those regions' queues."""

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
