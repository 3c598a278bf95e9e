"""`snapmode crawl`: crawl one shop with live progress, sending records to Kafka, a JSONL file or the embedded index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from snapmode.cli.options import ProgressOption
from snapmode.cli.private import PRIVATE_ADDRESS_HINT, AllowPrivateOption, allowing_private
from snapmode.config import Settings, get_settings

if TYPE_CHECKING:
    from snapmode.crawlers.run import CrawlSummary
    from snapmode.crawlers.sinks import RecordSink
    from snapmode.pipeline.runner import IngestReport

console = Console(stderr=True)


def _progress_line(stats: dict[str, Any]) -> dict[str, int]:
    errors = sum(int(v) for k, v in stats.items() if k.startswith("snapmode/errors/"))
    return {"pages": int(stats.get("snapmode/pages", 0)), "products": int(stats.get("snapmode/products/sent", 0)),
            "images": int(stats.get("snapmode/images/sent", 0)), "errors": errors}


def print_summary(summary: CrawlSummary, destination: str, indexing: IngestReport | None = None,
                  dead_letters: Path | None = None) -> None:
    table = Table(title=f"Crawl of {summary.site}", show_header=False)
    rows = [("finished", summary.finish_reason), ("seconds", f"{summary.seconds:.1f}"), ("pages", summary.pages),
            ("products found", summary.products_found), ("products sent", summary.products_sent),
            ("products unchanged", summary.products_unchanged), ("images sent", summary.images_sent),
            ("retries", summary.retries), ("refused by robots.txt", summary.robots_forbidden),
            ("errors", summary.error_count), ("records went to", destination)]
    for name, value in rows:
        table.add_row(name, str(value))
    for title, counts in (("error", summary.errors), ("warning", summary.warnings)):
        for reason, count in sorted(counts.items()):
            table.add_row(f"  {title}: {reason}", str(count))
    if indexing is not None:
        table.add_row("images indexed", str(indexing.images_indexed))
        table.add_row("images already indexed", str(indexing.images_skipped))
        table.add_row("images refused", str(indexing.images_rejected))
        for reason, count in sorted(indexing.rejected.items()):
            table.add_row(f"  refused: {reason}", str(count))
    console.print(table)
    if indexing is not None and indexing.images_rejected and dead_letters is not None:
        console.print(f"refused images are listed with their reasons in {dead_letters}")
    if indexing is not None and "private_address" in indexing.rejected:
        console.print(PRIVATE_ADDRESS_HINT)


def _sink(settings: Settings, out: Path | None) -> tuple[RecordSink, str, Any]:
    """The sink for this crawl, where it writes, and the embedded ingest feed when there is one."""
    from snapmode.crawlers.sinks import CallableSink, JsonlSink, KafkaSink

    if out is not None:
        return JsonlSink(out), str(out), None
    if settings.mode == "cluster":
        return KafkaSink(settings), \
            f"kafka {settings.kafka_bootstrap} topic {settings.records_topic}", None
    from snapmode.crawlers.embedded import IngestFeed
    from snapmode.platform import Platform

    platform = Platform.build(settings)
    feed = IngestFeed(platform.runner(skip_indexed=True, allow_files=False))  # crawled records: http(s) only
    feed.platform = platform  # type: ignore[attr-defined]
    return CallableSink(feed.put), f"embedded index in {settings.data_dir}", feed


def crawl(target: Annotated[str, typer.Argument(metavar="CONFIG.yaml|URL", help="A site config or a shop's URL")],
          max_pages: Annotated[int | None, typer.Option(min=1, help="Stop after about this many pages")] = None,
          out: Annotated[Path | None, typer.Option(help="Write records to this JSONL file instead")] = None,
          allow_private: AllowPrivateOption = False,
          progress: ProgressOption = True,
          as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout")] = False) -> None:
    """Crawl a shop; records go to Kafka (cluster mode), the embedded index (embedded mode) or --out."""
    from snapmode.crawlers.run import build_job, load_target, open_redis, run_crawl  # Scrapy loads on use only

    settings = allowing_private(get_settings(), allow_private)  # the crawl and the image fetch of the embedded index
    try:
        site = load_target(target)
    except (FileNotFoundError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="CONFIG.yaml|URL") from exc
    sink, destination, feed = _sink(settings, out)
    job = build_job(site, settings, sink, redis=open_redis(settings.redis_url, settings.redis_secret),
                    max_pages=max_pages)
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), TextColumn("pages {task.fields[pages]}"),
               TextColumn("products {task.fields[products]}"), TextColumn("images {task.fields[images]}"),
               TextColumn("errors {task.fields[errors]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False, disable=not progress) as display:
        task = display.add_task(f"crawling {site.name}", pages=0, products=0, images=0, errors=0)
        summary = run_crawl(job, on_tick=lambda stats: display.update(task, **_progress_line(stats)))
    report, dead_letters = None, None
    if feed is not None:
        console.print(f"indexing the last records in {settings.data_dir} ...")
        report = feed.close()
        feed.platform.close()
        dead_letters = feed.platform.dead_letter_path
    if as_json:
        typer.echo(json.dumps({**summary.as_dict(), **({"indexing": report.as_dict()} if report else {})}))
    else:
        print_summary(summary, destination, report, dead_letters)
