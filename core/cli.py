"""The ``echodepth`` command line: serve, worker, keys, analyse, db."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.settings import Settings, get_settings

__all__ = ["app"]

app = typer.Typer(help="EchoDepth: emotion analysis API and integration hub.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
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
) -> None:
    """Run the API (and, with no broker URL set, the in-process worker)."""
    import uvicorn

    from core.api.app import create_app

    settings = get_settings()
    _logging(settings)
    uvicorn.run(
        create_app(settings=settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
    )


@app.command()
def worker(
    threads: Annotated[int | None, typer.Option(help="Worker threads (default from settings).")] = None,
) -> None:
    """Consume analysis jobs from the broker until SIGTERM or Ctrl-C."""
    from core.runtime import Runtime

    settings = get_settings()
    _logging(settings)
    if settings.embedded_worker:
        err.print("[yellow]No ECHODEPTH_BROKER_URL set: this worker only sees jobs of its own process.")
    rt = Runtime(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    rt.queue.start_worker(threads)
    rt.queue.start_sweeper()
    rt.queue.sweep_once()
    err.print(f"worker ready ({threads or settings.worker_threads} threads)")
    stop.wait()
    err.print("worker stopping: finishing in-flight jobs")
    rt.close()


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="Tenant name; created if missing.")],
    name: Annotated[str | None, typer.Option(help="A label for the key.")] = None,
) -> None:
    """Create an API key; prints only the key (it is shown once)."""
    from core.storage.db import Database
    from core.storage.store import Store

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.effective_database_url)
    db.ensure_current()
    typer.echo(Store(db).create_key(tenant, name))
    db.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest revision."""
    from core.storage.db import Database

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.effective_database_url)
    db.upgrade()
    err.print("database is at the newest revision")
    db.dispose()


def _read_input(source: str | None, text: str | None) -> str:
    if text is not None:
        return text
    if source is None:
        raise typer.BadParameter("give a FILE, a URL or --text")
    if source.startswith(("http://", "https://")):
        raise typer.BadParameter("URL input arrives with media intake; save the text to a file")
    path = Path(source)
    if not path.is_file():
        raise typer.BadParameter(f"{source} is not a file")
    if path.suffix.lower() not in (".txt", ".text", ".md", ".vtt", ""):
        raise typer.BadParameter(f"{path.suffix} files are not supported yet: only text in this release")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise typer.BadParameter(f"{source} is not UTF-8 text") from exc


def _summary_table(report: dict[str, object]) -> Table:
    table = Table(title="EchoDepth text analysis", show_header=False)
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
    source: Annotated[str | None, typer.Argument(help="A text FILE (URL and media arrive later).")] = None,
    text: Annotated[str | None, typer.Option("--text", help="Analyse this text.")] = None,
    summary: Annotated[bool, typer.Option("--summary", help="Print a short table, not JSON.")] = False,
) -> None:
    """Analyse locally, without a server; JSON on stdout."""
    content = _read_input(source, text)
    if not content.strip():
        raise typer.BadParameter("the text is empty")
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True
    ) as progress:
        task = progress.add_task("loading the text model", total=2)
        from engine.text import get_analyser

        analyser = get_analyser()
        progress.update(task, advance=1, description="analysing")
        report = analyser.analyse(content).model_dump(mode="json")
        progress.update(task, advance=1)
    if summary:
        Console().print(_summary_table(report))
    else:
        typer.echo(json.dumps(report, indent=2))
