"""The ``echodepth`` command line: serve, worker, keys, users, analyse, db, connectors, vault."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.sdk.errors import ConfigError
from core.settings import Settings, get_settings

if TYPE_CHECKING:
    from core.sdk import ProviderSpec

__all__ = ["app"]

app = typer.Typer(help="EchoDepth: emotion analysis API and integration hub.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
connectors_app = typer.Typer(help="Connector plugins.", no_args_is_help=True)
vault_app = typer.Typer(help="The token vault.", no_args_is_help=True)
app.add_typer(connectors_app, name="connectors")
app.add_typer(vault_app, name="vault")
tenants_app = typer.Typer(help="Tenants: region, purposes, retention.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")
users_app = typer.Typer(help="Tenant users (console and OAuth sign-in).", no_args_is_help=True)
app.add_typer(users_app, name="users")
err = Console(stderr=True)


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="PEM certificate chain: serve HTTPS (default from settings).")
    ] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="PEM private key of the certificate.")] = None,
) -> None:
    """Run the API (and, with no broker URL set, the in-process worker)."""
    import uvicorn

    from core.app import create_app

    settings = get_settings()
    _logging(settings)
    certfile, keyfile = ssl_certfile or settings.ssl_certfile, ssl_keyfile or settings.ssl_keyfile
    if (certfile is None) != (keyfile is None):
        raise typer.BadParameter("give both --ssl-certfile and --ssl-keyfile, or neither")
    uvicorn.run(
        create_app(settings=settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        proxy_headers=False,  # proxies are trusted only through ECHODEPTH_TRUSTED_PROXIES (core.api.https)
        # WebSocket permessage-deflate off: stream frames are JPEG/PNG/WebP, which do not compress; inflating
        # them cost the server about 0.5 ms of CPU per frame, and the client deflates (docs/streaming.md)
        ws_per_message_deflate=False,
    )


@app.command()
def worker(
    threads: Annotated[int | None, typer.Option(help="Worker threads (default from settings).")] = None,
    region: Annotated[
        list[str] | None, typer.Option(help="A region whose jobs to consume (repeat it); default: all.")
    ] = None,
) -> None:
    """Consume analysis jobs from the broker until SIGTERM or Ctrl-C."""
    from core.runtime import Runtime

    settings = get_settings()
    if region:
        settings = settings.model_copy(update={"serve_regions": ",".join(_checked_regions(region))})
    _logging(settings)
    if settings.embedded_worker:
        err.print("[yellow]No ECHODEPTH_BROKER_URL set: this worker only sees jobs of its own process.")
    rt = Runtime(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    rt.start_workers(threads)  # only the queues of the regions this worker serves (core.regions)
    regions = ", ".join(sorted(rt.served))
    err.print(f"worker ready ({threads or settings.worker_threads} threads; regions {regions})")
    stop.wait()
    err.print("worker stopping: finishing in-flight jobs")
    rt.close()


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="Tenant name; created if missing.")],
    name: Annotated[str | None, typer.Option(help="A label for the key.")] = None,
    scope: Annotated[
        list[str] | None, typer.Option(help="A scope the key carries (repeat it); default: every scope.")
    ] = None,
    tier: Annotated[str | None, typer.Option(help="The key's rate tier (config/tiers.yaml).")] = None,
    region: Annotated[
        str | None, typer.Option(help="A new tenant's region, uk or eu (default: ECHODEPTH_REGION).")
    ] = None,
) -> None:
    """Create an API key; prints only the key (it is shown once)."""
    from core.governance.audit import CLI
    from core.runtime import Runtime
    from core.sdk.errors import InputError

    settings = get_settings()
    scopes = _checked_scopes(scope)
    _check_tier(settings, tier)
    region = _checked_regions([region])[0] if region else None
    rt = Runtime(settings)
    try:
        key = rt.create_key(tenant, region, name=name, scopes=scopes, rate_tier=tier)
        detail = {"name": name, "scopes": scopes, "rate_tier": tier}
        tenant_id = rt.store.ensure_tenant(tenant)
        rt.for_tenant(tenant_id).audit.add(tenant_id, CLI, "key.create", key[:12], detail)
    except InputError as exc:  # region_mismatch, or a region this deployment does not serve
        raise typer.BadParameter(exc.message) from exc
    finally:
        rt.close()
    typer.echo(key)


def _checked_regions(regions: list[str]) -> list[str]:
    from core.governance.policy import REGIONS

    wrong = [r for r in regions if r not in REGIONS]
    if wrong:
        raise typer.BadParameter(f"regions are {', '.join(REGIONS)}, not {', '.join(wrong)}")
    return regions


def _checked_scopes(scope: list[str] | None) -> list[str] | None:
    from core.api.scopes import parse_scopes
    from core.sdk.errors import InputError

    if not scope:
        return None
    try:
        return parse_scopes(scope)
    except InputError as exc:
        raise typer.BadParameter(exc.message) from exc


def _check_tier(settings: Settings, tier: str | None) -> None:
    from core.tiers import load_tiers

    if tier and tier not in load_tiers(settings).tiers:
        raise typer.BadParameter(f"no rate tier {tier!r} in the tiers file")


@keys_app.command("set-tier")
def keys_set_tier(
    tenant: Annotated[str, typer.Option(help="Tenant name.")],
    key_prefix: Annotated[str, typer.Option(help="The key's visible prefix (its first 12 characters).")],
    tier: Annotated[str, typer.Option(help="A rate tier of config/tiers.yaml; '' = the tenant's.")],
) -> None:
    """Give one key its own rate tier (audited as actor 'cli')."""
    from core.governance.audit import CLI, AuditLog
    from core.storage.db import Database
    from core.storage.store import Store

    settings = get_settings()
    _check_tier(settings, tier)
    db = Database(settings.effective_database_url)
    db.ensure_current()
    store = Store(db)
    if not store.set_rate_tier(tenant, tier or None, key_prefix):
        db.dispose()
        raise typer.BadParameter(f"tenant {tenant!r} has no key {key_prefix[:12]!r}")
    tenant_id = store.ensure_tenant(tenant)
    AuditLog(db).add(tenant_id, CLI, "key.rate_tier", key_prefix[:12], {"tier": tier or None})
    db.dispose()


@users_app.command("create")
def users_create(
    tenant: Annotated[str, typer.Option(help="Tenant name; created if missing.")],
    email: Annotated[str, typer.Option(help="The user's email (their sign-in name).")],
    admin: Annotated[bool, typer.Option("--admin", help="Every scope, admin included.")] = False,
    scope: Annotated[
        list[str] | None, typer.Option(help="A scope the user holds (repeat it); default: all but admin.")
    ] = None,
    reset: Annotated[
        bool, typer.Option("--reset", help="If the user exists, give them a new password instead of failing.")
    ] = False,
) -> None:
    """Create a tenant user with a generated password; prints only the password (it is shown once)."""
    import secrets

    from core.api.scopes import SCOPES
    from core.governance.audit import CLI
    from core.oauth.store import OAuthStore
    from core.runtime import Runtime
    from core.sdk.errors import InputError

    scopes = list(SCOPES) if admin else _checked_scopes(scope)
    password = secrets.token_urlsafe(12)
    rt = Runtime(get_settings())
    try:
        tenant_id = rt.ensure_tenant(tenant)
        store = OAuthStore(rt.db)
        try:
            user = store.create_user(tenant_id, email, password, scopes)
            action = "user.create"
        except InputError as exc:
            found = store.set_password(email, password) if reset and exc.code == "conflict" else None
            if found is None or found.tenant_id != tenant_id:
                raise typer.BadParameter(f"{exc.message} (use --reset to give it a new password)") from exc
            user, action = found, "user.password_reset"
        rt.for_tenant(tenant_id).audit.add(tenant_id, CLI, action, user.id, {"email": user.email})
    finally:
        rt.close()
    typer.echo(password)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest revision (every region's database)."""
    from core.regions import region_settings, region_stores
    from core.storage.db import Database

    home = get_settings()
    for settings in [home, *(region_settings(home, name) for name in region_stores(home))]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.effective_database_url)
        db.upgrade()
        err.print(f"database of region {settings.region} is at the newest revision")
        db.dispose()


_TEXT_SUFFIXES = {".txt", ".text", ".md", ".vtt", ""}
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}


def _media_modality(path: Path) -> str:
    """``image``, ``video`` or ``audio`` for a local file, from its suffix or its streams."""
    if path.suffix.lower() in _IMAGE_SUFFIXES:
        return "image"
    import av

    try:
        with av.open(str(path)) as container:
            if container.streams.video and path.suffix.lower() not in (".mp3", ".m4a", ".flac", ".ogg"):
                return "video"
            if container.streams.audio:
                return "audio"
    except av.FFmpegError as exc:
        raise typer.BadParameter(f"media_corrupt: {path.name} is not a media file PyAV can read") from exc
    raise typer.BadParameter(f"media_not_audio: {path.name} has neither audio nor video")


def _download(url: str, workdir: Path, settings: Settings) -> Path:
    from core.media.outbound import fetch_to_file
    from core.sdk.errors import InputError

    name = Path(url.split("?", 1)[0]).name or "download"
    dest = workdir / name
    try:
        fetch_to_file(
            url,
            dest,
            max_bytes=settings.max_upload_bytes,
            timeout=settings.url_fetch_timeout_seconds,
            total_seconds=settings.url_fetch_max_seconds,
            allow_private=settings.allow_private_urls,
        )
    except InputError as exc:
        raise typer.BadParameter(f"{exc.code}: {exc.message}") from exc
    return dest


def _text_of(path: Path) -> str:
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise typer.BadParameter(f"{path.name} is not UTF-8 text") from exc
    if not content.strip():
        raise typer.BadParameter("the text is empty")
    return content


def _local_input(
    source: str | None, text: str | None, workdir: Path, settings: Settings
) -> tuple[str, str | None, Path | None]:
    """(modality, text, media path) for the command's arguments."""
    if text is not None:
        if not text.strip():
            raise typer.BadParameter("the text is empty")
        return "text", text, None
    if source is None:
        raise typer.BadParameter("give a FILE, a URL or --text")
    path = (
        _download(source, workdir, settings) if source.startswith(("http://", "https://")) else Path(source)
    )
    if not path.is_file():
        raise typer.BadParameter(f"{source} is not a file")
    if path.suffix.lower() in _TEXT_SUFFIXES:
        return "text", _text_of(path), None
    return _media_modality(path), None, path


def _summary_table(report: dict[str, object]) -> Table:
    table = Table(title=f"EchoDepth {report.get('modality')} analysis", show_header=False)
    vad = report.get("vad") or {}
    assert isinstance(vad, dict)
    table.add_row("trust score", str(report.get("trust_score")))
    for k in ("valence", "arousal", "dominance"):
        table.add_row(k, f"{vad.get(k, float('nan')):.3f}")
    emotions = report.get("emotions") or {}
    assert isinstance(emotions, dict)
    top = sorted(emotions.items(), key=lambda kv: -kv[1])[:3]
    table.add_row("top emotions", ", ".join(f"{k} {v:.2f}" for k, v in top))
    quality = report.get("quality") or {}
    assert isinstance(quality, dict)
    table.add_row("quality flags", ", ".join(quality.get("flags", [])) or "none")
    return table


@app.command()
def analyse(
    source: Annotated[
        str | None, typer.Argument(help="A text, audio, video or image FILE, or a URL.")
    ] = None,
    text: Annotated[str | None, typer.Option("--text", help="Analyse this text.")] = None,
    summary: Annotated[bool, typer.Option("--summary", help="Print a short table, not JSON.")] = False,
) -> None:
    """Analyse locally, without a server; JSON on stdout."""
    import tempfile

    from core.jobs.analysis import analyse_inputs
    from core.sdk.errors import EngineError
    from core.storage.store import MediaItem

    settings = get_settings()
    with (
        tempfile.TemporaryDirectory(prefix="echodepth-") as tmp,
        Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("reading the input", total=2)
        modality, content, path = _local_input(source, text, Path(tmp), settings)
        progress.update(task, advance=1, description=f"analysing ({modality})")
        media = [(MediaItem(role=modality, filename=path.name), path)] if path else []
        try:
            report = analyse_inputs(modality, content, media, settings).model_dump(mode="json")
        except EngineError as exc:
            err.print(f"[red]{exc.code}[/red]: {exc.message}")
            raise typer.Exit(1) from exc
        progress.update(task, advance=1)
    if summary:
        Console().print(_summary_table(report))
    else:
        typer.echo(json.dumps(report, indent=2))


@connectors_app.command("list")
def connectors_list() -> None:
    """Every installed connector (entry-point group ``echodepth.connectors``)."""
    from core.registry import ConnectorRegistry

    table = Table(title="EchoDepth connectors")
    for column in ("key", "kind", "name", "auth", "module"):
        table.add_column(column)
    for found in ConnectorRegistry.discover().all():
        table.add_row(found.key, found.kind, found.spec.display_name, found.spec.auth, found.origin)
    Console().print(table)


def _admin_steps(spec: ProviderSpec) -> list[str]:
    """What an admin of ``spec``'s vendor must do, as numbered lines (scopes first)."""
    lines = [f"{spec.display_name} ({spec.key}): what an admin must do"]
    if spec.oauth is not None and spec.oauth.scopes:
        lines.append(f"  scopes the app asks for at consent: {' '.join(spec.oauth.scopes)}")
    for n, step in enumerate(spec.admin_steps, 1):
        paid = " [paid API]" if step.paid else ""
        lines += [f"  {n}. {step.title}{paid}", f"     {step.detail}", f"     see {step.source}"]
    if not spec.admin_steps:
        lines.append(f"  nothing beyond connecting: open /v1/connections/{spec.key}/authorize in a browser")
    return lines


@connectors_app.command("setup")
def connectors_setup(
    provider: str = typer.Argument(..., help="a provider key: zoom, teams, microsoft, salesforce, ..."),
    connection: str | None = typer.Option(None, help="the connection id (needed when there are several)"),
    check_only: bool = typer.Option(False, "--check-only", help="report what is missing; create nothing"),
    steps_only: bool = typer.Option(False, "--steps-only", help="print the admin steps; check no connection"),
) -> None:
    """Print the vendor's admin steps (scopes, consent, policies, paid APIs); for a CRM connection, check the
    custom fields its mapping writes and create the missing ones where allowed."""
    from core.registry import PROVIDERS_DIR, get_registry, load_provider_spec

    try:
        if not provider.isidentifier() or not provider.islower():
            raise ConfigError("a provider key is lower-case letters, digits and _")
        spec = load_provider_spec(provider, get_settings().providers_dir or PROVIDERS_DIR)
    except ConfigError as exc:
        typer.echo(f"unknown provider {provider!r}: {exc}", err=True)
        raise typer.Exit(2) from exc
    for line in _admin_steps(spec):
        typer.echo(line)
    registry = get_registry()
    installed = registry.keys()
    if steps_only or provider not in installed or not hasattr(registry.get(provider).connector, "setup"):
        return
    _field_setup(provider, connection, check_only)


def _field_setup(provider: str, connection: str | None, check_only: bool) -> None:
    """Run a CRM sink's field check/creation on its one active connection (exit 1 while something is left)."""
    from sqlalchemy import select

    from core.connections.models import Connection
    from core.runtime import Runtime

    settings = get_settings()
    _logging(settings)
    rt = Runtime(settings)
    try:
        with rt.db.session() as s:
            q = select(Connection.id).where(Connection.provider == provider, Connection.status == "active")
            ids = [connection] if connection else list(s.scalars(q))
        if len(ids) != 1:
            typer.echo(f"{len(ids)} active {provider} connections: pass --connection ID", err=True)
            raise typer.Exit(2)
        report = rt.deliveries.sinks.setup(ids[0], not check_only)
        for section, lines in report.items():
            for line in lines:
                typer.echo(f"{section}: {line}")
        if report.get("missing") or report.get("manual"):
            raise typer.Exit(1)
    finally:
        rt.close()


@vault_app.command("rotate")
def vault_rotate() -> None:
    """Re-encrypt every stored secret under the newest key of ECHODEPTH_VAULT_KEYS."""
    from core.storage.db import Database
    from core.vault import TokenVault, load_key_ring

    settings = get_settings()
    _logging(settings)
    db = Database(settings.effective_database_url)
    db.ensure_current()
    vault = TokenVault(db, load_key_ring(settings))
    count = vault.rotate()
    typer.echo(f"re-encrypted {count} secrets under key {vault.ring.current}")
    db.dispose()


def _tenant_json(policy: object, default_days: int) -> str:
    from core.governance.policy import TenantPolicy, refusal

    assert isinstance(policy, TenantPolicy)
    return json.dumps({
        "id": policy.tenant_id,
        "name": policy.name,
        "region": policy.region,
        "purposes": list(policy.purposes),
        "consent_basis": policy.consent_basis,
        "retention_days": policy.retention_days,
        "effective_retention_days": policy.effective_retention_days(default_days),
        "analyses_permitted": refusal(policy.region, policy.purposes) is None,
        "own_domains": list(policy.own_domains),
    }, indent=2)


@tenants_app.command("show")
def tenants_show(tenant: Annotated[str, typer.Option(help="Tenant name.")]) -> None:
    """Print the tenant's region, purposes, lawful basis, retention and own domains as JSON."""
    from core.runtime import Runtime
    from core.sdk.errors import InputError

    settings = get_settings()
    rt = Runtime(settings)
    try:
        tenant_id = rt.policies.tenant_id(tenant)  # the directory, in the home region's database
        policy = rt.for_tenant(tenant_id).policies.get(tenant_id)
        typer.echo(_tenant_json(policy, settings.result_retention_days))
    except InputError as exc:
        raise typer.BadParameter(exc.message) from exc
    finally:
        rt.close()


@tenants_app.command("set")
def tenants_set(
    tenant: Annotated[str, typer.Option(help="Tenant name.")],
    region: Annotated[str | None, typer.Option(help="uk or eu.")] = None,
    purposes: Annotated[
        str | None, typer.Option(help="Comma-separated purposes (docs/compliance.md); '' clears them.")
    ] = None,
    consent_basis: Annotated[str | None, typer.Option(help="GDPR Art. 6(1) lawful basis.")] = None,
    retention_days: Annotated[
        int | None, typer.Option(help="Days results are kept after a job ends; 0 = the default.")
    ] = None,
    rate_tier: Annotated[
        str | None, typer.Option(help="Rate tier of config/tiers.yaml; '' = the default tier.")
    ] = None,
    own_domains: Annotated[
        str | None,
        typer.Option(help="Comma-separated own mail domains (speakers there are internal); '' clears."),
    ] = None,
) -> None:
    """Change a tenant's governance settings, own domains and rate tier (each change audited as 'cli')."""
    from core.governance.audit import CLI
    from core.governance.policy import REGIONS
    from core.runtime import Runtime
    from core.sdk.errors import InputError

    settings = get_settings()
    rt = Runtime(settings)
    try:
        tenant_id = rt.policies.tenant_id(tenant)  # the directory, in the home region's database
        regional = rt.for_tenant(tenant_id)
        policies = regional.policies
        if region is not None:
            if region in REGIONS and rt.for_region(region) is not regional:
                raise InputError("region_locked", "a tenant's data cannot move between region stores", 409)
            policies.set_region(tenant_id, region, CLI)
        if purposes is not None or consent_basis is not None:
            current = policies.get(tenant_id)
            chosen = [p.strip() for p in purposes.split(",") if p.strip()] if purposes is not None else None
            policies.set_purposes(
                tenant_id,
                chosen if chosen is not None else list(current.purposes),
                consent_basis if consent_basis is not None else current.consent_basis,
                CLI,
            )
        if retention_days is not None:
            policies.set_retention(tenant_id, retention_days or None, CLI)
        if own_domains is not None:
            policies.set_own_domains(tenant_id, own_domains.split(","), CLI)
        if rate_tier is not None:
            _check_tier(settings, rate_tier)
            rt.store.set_rate_tier(tenant, rate_tier or None)  # the directory holds the tenant's tier
            regional.audit.add(tenant_id, CLI, "tenant.rate_tier", tenant_id, {"tier": rate_tier or None})
        typer.echo(_tenant_json(policies.get(tenant_id), settings.result_retention_days))
    except InputError as exc:
        raise typer.BadParameter(exc.message) from exc
    finally:
        rt.close()


@tenants_app.command("purge")
def tenants_purge() -> None:
    """Run the retention purge now (workers also run it every retention_purge_interval_seconds)."""
    from core.governance.retention import Retention
    from core.media.spool import Spool
    from core.storage.db import Database

    settings = get_settings()
    _logging(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.effective_database_url)
    db.ensure_current()
    purged = Retention(settings, db, Spool(settings.spool_dir)).purge_expired()
    typer.echo(f"purged {sum(purged.values())} jobs of {len(purged)} tenants")
    db.dispose()
