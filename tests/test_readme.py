"""The README and the docs as a newcomer runs them: every command of their bash blocks, in a fresh working directory
with default settings (the data dir `.snapmode` relative to it) and human output, asserting exit 0 and key lines.

`WALKTHROUGH` maps each documented command line to the command run here, in the order run: the same command with its
placeholders filled (DIR, PATH, photo.jpg, a shop's URL), sizes shrunk to fit a test, and `--allow-private` where the
shop is the test's own on loopback. A command added to the README or a docs page without an entry here, or an entry
whose command left them, fails `test_every_documented_command_is_walked`. Cluster commands run in the integration
part, against the session's native cluster.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
import pytest
import yaml

from snapmode.waiting import wait_until
from tests.loopback import LoopbackServer, directory_handler

ROOT = Path(__file__).resolve().parents[1]
SNAPMODE = Path(sys.executable).with_name("snapmode")
Part = Literal["embedded", "serving", "cluster", "elsewhere"]  # serving: in a second terminal while `serve` runs


@dataclass(frozen=True)
class Step:
    run: str  # the README line as run here; {shop} is the loopback shop's base URL
    expect: tuple[str, ...] = ()  # words the output must hold (compared with whitespace and table borders removed)
    part: Part = "embedded"


def elsewhere(why: str) -> Step:
    """A README command this walkthrough does not run, and the test that does."""
    return Step(run="", expect=(why,), part="elsewhere")


WALKTHROUGH: dict[str, Step] = {
    "source .venv/bin/activate": elsewhere("the walkthrough's PATH starts with .venv's bin folder, which is what "
                                           "activating it does"),
    "make demo": elsewhere("`snapmode demo` once .venv is installed: the demo steps below run it, serving included, "
                           "and `make test` (CI) installs .venv with the same target"),
    "make test": elsewhere("CI runs it as .ci/run"),
    "snapmode catalog generate --out DIR --products 300 --views 4 --seed 7": Step(
        "snapmode catalog generate --out shop --products 12 --views 3 --seed 7", ("products 12", "images 36 (3 per product)")),
    "snapmode ingest PATH": Step("snapmode ingest shop", ("Ingest summary", "vectors in store 36")),
    "snapmode search photo.jpg --k 10 [--json] [--category dress]": Step(
        "snapmode search shop/images/SM00004/1.jpg --k 10", ("Top 10 for 1.jpg", "1 1.000 sample-shop:SM00004")),
    'snapmode search [photo.jpg] --q "wool sweater" [--brand B] [--colour C] [--price-min 20 --price-max 80] '
    '[--offset 10]': Step('snapmode search shop/images/SM00004/1.jpg --q "wool sweater" --price-min 1 --offset 1',
                          ("from rank 2 for 1.jpg", "sample-shop:SM")),
    "snapmode deadletters list [--reason R] [--json]": Step("snapmode deadletters list",
                                                           (".snapmode/dead-letter.jsonl: 0 letters",)),
    "snapmode deadletters replay [--reason R]": Step("snapmode deadletters replay",
                                                    ("replayed 0 records of 0 letters into the embedded stores",)),
    "snapmode backup backups/2026-12-06 [--json]": Step("snapmode backup backups/2026-12-06",
                                                       ("Backup", "products 12", "images 36")),
    "snapmode restore backups/2026-12-06 [--yes] [--json]": Step("snapmode restore backups/2026-12-06 --yes",
                                                                ("Restore", "products 12", "images 36")),
    "snapmode reindex [--model CHECKPOINT] [--keep-old] [--json]": Step(
        "snapmode reindex", ("already holds the vectors of cbir-gan:", "nothing to do")),
    "snapmode export [--model CHECKPOINT]": elsewhere(
        "rewrites the shipped graph: tests/model/test_export.py exports a copy of the shipped checkpoint, and the "
        "model section's `snapmode export --model DIR` step runs the command on a trained one"),
    "snapmode serve": Step("snapmode serve", ("Uvicorn running on http://127.0.0.1:8000",)),  # see test below
    "curl -F file=@photo.jpg -F q=red -F k=10 http://127.0.0.1:8000/search": Step(
        "curl -sS -F file=@new-photos/look-1.jpg -F q=red -F k=10 http://127.0.0.1:8000/search",
        ('"ranking":"hybrid"', '"product_key":"sample-shop:look-1"'), "serving"),
    'curl -F q="wool sweater" -F category=sweater -F offset=10 http://127.0.0.1:8000/search': Step(
        'curl -sS -F q="wool sweater" -F category=sweater -F offset=10 http://127.0.0.1:8000/search',
        ('"ranking":"text"', '"offset":10'), "serving"),
    'curl "http://127.0.0.1:8000/products/sample-shop:SM00004/similar?k=8"': Step(
        'curl -sS "http://127.0.0.1:8000/products/sample-shop:SM00004/similar?k=8"', ('"k":8', '"results":[{'),
        "serving"),
    'curl "http://127.0.0.1:8000/facets?category=dress"': Step(
        'curl -sS "http://127.0.0.1:8000/facets?category=dress"', ('"categories":', '"price_min":'), "serving"),
    "curl -F file=@photo.jpg -F collapse=false http://127.0.0.1:8000/search": Step(
        "curl -sS -F file=@new-photos/look-1.jpg -F collapse=false http://127.0.0.1:8000/search",
        ('"collapse":false', '"product_key":"sample-shop:look-1"'), "serving"),
    "curl -F file=@photo.jpg -F bbox=0,0,0.5,1 http://127.0.0.1:8000/search": Step(
        "curl -sS -F file=@new-photos/look-1.jpg -F bbox=0,0,0.5,1 http://127.0.0.1:8000/search",
        ('"ranking":"image"', '"photo_id":"'), "serving"),
    "snapmode demo [--no-serve]": Step("snapmode demo --no-serve --products 6 --views 2",
                                       ("generating the sample catalog", "Ingest summary")),
    # The first run of the README and of Getting started, on the demo's catalog
    "snapmode search .snapmode/catalog/images/SM00004/1.jpg --k 5": Step(
        "snapmode search .snapmode/catalog/images/SM00004/1.jpg --k 5", ("Top 5 for 1.jpg", "1 1.000 sample-shop:SM00004")),
    'snapmode search --q "canvas shoe" --k 5': Step('snapmode search --q "canvas shoe" --k 5',
                                                    ('for "canvas shoe"', "sample-shop:SM00004 Beige floral canvas shoe")),
    "curl -F file=@.snapmode/catalog/images/SM00004/1.jpg -F k=5 http://127.0.0.1:8000/search": Step(
        "curl -sS -F file=@shop/images/SM00004/1.jpg -F k=5 http://127.0.0.1:8000/search",
        ('"ranking":"image"', '"product_key":"sample-shop:SM00004"'), "serving"),
    "snapmode cluster up [--only kafka,storm,solr,milvus,redis]": Step("snapmode cluster up", ("cluster up in",),
                                                                       "cluster"),
    "snapmode cluster status [--json]": Step("snapmode cluster status", ("kafka", "milvus", "total RSS"), "cluster"),
    "snapmode cluster init": Step("snapmode cluster init", ("solr",), "cluster"),
    "snapmode cluster down": elsewhere("would stop the session's cluster for the tests after it: "
                                       "tests/infra/test_cluster.py stops and restarts its services one at a time"),
    "snapmode crawl crawlers/sites/example.yaml [--max-pages N] [--out records.jsonl]": Step(
        "snapmode crawl crawlers/sites/example.yaml --max-pages 40 --out records.jsonl",
        ("Crawl of example-shop", "products sent 12", "records went to records.jsonl")),
    "snapmode crawl https://shop.example.com/": Step(
        "snapmode crawl {shop} --allow-private", ("products sent 12", "images indexed", "images refused 0")),
    "snapmode cluster up": Step("snapmode cluster up", ("cluster up in",), "cluster"),
    "export SNAPMODE_MODE=cluster SNAPMODE_FILE_ROOTS=.": Step("export SNAPMODE_MODE=cluster SNAPMODE_FILE_ROOTS=.",
                                                               (), "cluster"),
    "snapmode topology submit [--name NAME]": Step("snapmode topology submit", ("submitted snapmode-ingest",),
                                                   "cluster"),
    "snapmode publish CATALOG [--limit N]": Step("snapmode publish shop --limit 5", ("published 5 records",),
                                                 "cluster"),
    "snapmode topology status [--json]": Step("snapmode topology status", ("snapmode-ingest: ACTIVE",), "cluster"),
    "snapmode bench ingest [--products 100] [--rounds 2] [--loads 0.5,0.8] [--json]": Step(
        "snapmode bench ingest --products 8 --rounds 1 --loads 0.5", ("images/s", "ratio", "load_50pct_freshness_p99_s",
                                                                     "ms per image"), "cluster"),
    "snapmode bench ingest --embedder null [--products 300] [--json]": Step(
        "snapmode bench ingest --embedder null --products 8 --rounds 1 --loads 0.5",
        ("pipeline_images_per_s", "cpu_ms_per_image_outside_model", "idle ms per s",
         "killing snapmode-ingest-bench-null"), "cluster"),
    "snapmode topology kill": Step("snapmode topology kill", ("killed snapmode-ingest",), "cluster"),
    "snapmode bench hybrid [--products 300] [--views 4] [--seed 7] [--json]": Step(
        "snapmode bench hybrid --products 12 --views 2", ("Hybrid search, 12 products", "photo + words")),
    "snapmode bench query [--vectors 10000] [--clients 8] [--store lite|server] [--compare] [--json]": Step(
        "snapmode bench query --vectors 300 --products 8 --queries 10 --clients 2",
        ("Query path, lite, 300 x 256-d vectors", "floor (in process)", "api (HTTP)")),
    "snapmode train --data CATALOG_OR_FOLDER --out DIR [--epochs 30 --batch-size 64 --device auto --resume] "
    "[--triplet-only]": Step("snapmode train --data shop --out checkpoints/mine --epochs 1 --batch-size 12 "
                             "--image-size 64 --no-progress", ("checkpoints/mine",)),
    "snapmode train --dataset inshop --data /path/to/DeepFashion/In-shop": elsewhere(
        "needs the DeepFashion In-shop images: tests/model/test_data.py reads a tree in its layout"),
    "snapmode eval --data CATALOG --baselines [--json] [--out REPORT_DIR]": Step(
        "snapmode eval --data shop --baselines --out report", ("cbir-gan", "colour-histogram", "map@10")),
    "snapmode eval --data CATALOG --protocol all-views": Step("snapmode eval --data shop --protocol all-views",
                                                              ("cbir-gan", "p@1")),
    "snapmode export [--model DIR]": Step("snapmode export --model checkpoints/mine --calibration 16",
                                          ("wrote checkpoints/mine/encoder.int8.onnx", "int8", "16 calibration images")),
    "snapmode bench embed [--embedders default,backbone,torch,onnxruntime,openvino]": Step(
        "snapmode bench embed --embedders default,backbone --batch-sizes 1,8 --seconds 0.2",
        ("images/s", "default", "backbone")),
    "snapmode bench embed --embedders default,backbone,torch,openvino --batch-sizes 1,8,32,64 --seconds 3": Step(
        "snapmode bench embed --embedders default,backbone,torch,openvino --batch-sizes 1 --seconds 0.2",
        ("openvino", "images/s")),
    "snapmode dataset list": Step("snapmode dataset list", ("photos:", "icons:")),
    "snapmode dataset build photos [--out DIR] [--seed 0] [--limit N]": Step(
        "snapmode dataset build photos --limit 6", ("Set photos", "products 6", "tuxpaint-stamps-default")),
    "snapmode dataset build icons": Step("snapmode dataset build icons --limit 6", ("Set icons", "products 6")),
    "snapmode eval --data .snapmode/datasets/photos --baselines --device cpu [--out REPORT_DIR]": Step(
        "snapmode eval --data .snapmode/datasets/photos --baselines --device cpu", ("36 queries", "efficientnet-lite0")),
    "snapmode crawl https://shop.example.com/ --out shop.jsonl": Step(
        "snapmode crawl {shop} --out shop.jsonl --allow-private", ("products sent 12", "records went to shop.jsonl")),
    "snapmode train --data shop.jsonl --out checkpoints/shop --init current --lr 1e-4 --epochs 3 --batch-size 32": Step(
        "snapmode train --data shop.jsonl --out checkpoints/shop --init current --lr 1e-4 --epochs 1 --batch-size 8 "
        "--no-progress --allow-private", ("images fetched 24", "new", "current")),
    "snapmode train --dataset store --out checkpoints/store --init current [--allow-private] [--json]": Step(
        "snapmode train --dataset store --out checkpoints/store --init current --allow-private --epochs 1 "
        "--batch-size 8 --no-progress", ("new", "current")),
    "SNAPMODE_MODEL_CHECKPOINT=checkpoints/shop SNAPMODE_DATA_DIR=.snapmode-shop snapmode ingest shop.jsonl": Step(
        "SNAPMODE_MODEL_CHECKPOINT=checkpoints/shop SNAPMODE_DATA_DIR=.snapmode-shop snapmode ingest shop.jsonl "
        "--allow-private", ("vectors in store 24", "products in store 12")),
    "snapmode reindex": Step("snapmode reindex", ("nothing to do",)),
    "snapmode reindex --model checkpoints/shop --keep-old": Step(  # the crawled shop's images are on loopback
        "snapmode reindex --model checkpoints/shop --keep-old --allow-private",
        ("Reindex summary", "collection products__1", "previous products__0", "dropped False")),
    "snapmode compact checkpoints/mine-256 --model checkpoints/mine": Step(  # fewer drawings and directions: the
        # same code path (the walkthrough's checkpoints/mine is trained without the recipe: 256-d codes already)
        "snapmode compact checkpoints/mine-256 --model checkpoints/mine --dims 32 --drawings 100 --calibration 16 "
        "--no-progress", ("wrote checkpoints/mine-256: 32-d codes (128 bytes a vector)", "with its int8 graph")),
    "snapmode reindex --model checkpoints/mine-256": Step(
        "snapmode reindex --model checkpoints/mine-256 --allow-private",
        ("Reindex summary", "collection products__2")),
    "export SNAPMODE_MODEL_CHECKPOINT=checkpoints/mine-256": Step(
        "export SNAPMODE_MODEL_CHECKPOINT=checkpoints/mine-256", ()),
    "snapmode catalog generate --out .snapmode/catalog-eval-9001-500 --products 500 --views 4 --seed 9001 "
    "--no-site": Step("snapmode catalog generate --out .snapmode/catalog-eval-9001-500 --products 16 --views 4 "
                      "--seed 9001 --no-site", ("products 16",)),
    "snapmode eval --data .snapmode/catalog-eval-9001-500 --baselines --json --device cpu": Step(
        "snapmode eval --data .snapmode/catalog-eval-9001-500 --baselines --json --device cpu", ('"cbir-gan"',)),
}


DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))  # docs/reference/ is generated


def documented_commands() -> list[str]:
    """Each command line of the bash blocks of the README and the docs pages, without its comment."""
    return [command for document in DOCUMENTS for command in bash_commands(document)]


def bash_commands(document: Path) -> list[str]:
    commands, inside = [], False
    for line in document.read_text().splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```bash"
            continue
        command = re.sub(r"\s+#\s.*$", "", line).strip()
        if inside and command and not command.startswith("#"):
            commands.append(" ".join(command.split()))
    return commands


def test_every_documented_command_is_walked() -> None:
    documented = documented_commands()
    assert bash_commands(ROOT / "README.md") and bash_commands(ROOT / "docs" / "getting-started.md")
    assert sorted(set(documented) - set(WALKTHROUGH)) == [], "documented commands without a walkthrough step"
    assert sorted(set(WALKTHROUGH) - set(documented)) == [], "walkthrough steps for commands the docs dropped"
    for step in WALKTHROUGH.values():
        assert step.part != "elsewhere" or step.expect[0], "a step not run here says where it is tested"


# --- running them ----------------------------------------------------------------------------------------------------

@dataclass
class Terminal:
    """A shell in a fresh working directory, with no SnapMode settings in its environment."""

    cwd: Path
    env: dict[str, str]

    @classmethod
    def fresh(cls, cwd: Path) -> Terminal:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPMODE_")}
        env["PATH"] = f"{SNAPMODE.parent}{os.pathsep}{env.get('PATH', '')}"
        env["COLUMNS"] = "120"
        return cls(cwd=cwd, env=env)

    def run(self, step: Step, **fill: str) -> str:
        command = step.run.format(**fill)
        if command.startswith("export "):
            for assignment in command.removeprefix("export ").split():
                name, _, value = assignment.partition("=")
                self.env[name] = value
            return ""
        words_, env = shlex.split(command), dict(self.env)
        while "=" in words_[0]:  # NAME=value before the command: for this command only
            name, _, value = words_.pop(0).partition("=")
            env[name] = value
        done = subprocess.run(words_, cwd=self.cwd, env=env, capture_output=True, text=True, timeout=900)
        said = words(done.stdout + done.stderr)
        assert done.returncode == 0, f"`{command}` exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"
        for expected in step.expect:
            assert expected in said, f"`{command}` did not say {expected!r}:\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr


def words(output: str) -> str:
    return " ".join(re.sub(r"[│┃|]", " ", output).split())


def steps(part: Part) -> Iterator[tuple[str, Step]]:
    """The documented commands of one part, in the walkthrough's order (a command may be documented twice)."""
    documented = set(documented_commands())
    for command, step in WALKTHROUGH.items():
        if command in documented and step.part == part:
            yield command, step


@pytest.fixture
def staging_shop(tmp_path: Path) -> Iterator[str]:
    """A shop on loopback, rendered from a catalog of its own (the walkthrough's catalog is made by the README)."""
    from snapmode.datasets.catalog.generate import generate_catalog
    from snapmode.datasets.catalog.site import render_site

    catalog = tmp_path / "staging-shop"
    generate_catalog(catalog, products=12, views=2, seed=11)
    with LoopbackServer(directory_handler(catalog / "site")) as server:
        render_site(catalog, base_url=server.base + "/")
        yield server.base + "/"


def example_config_for(workdir: Path, shop: str) -> None:
    """crawlers/sites/example.yaml as in the repository, pointed at the loopback shop."""
    config = yaml.safe_load((ROOT / "crawlers" / "sites" / "example.yaml").read_text())
    config.update(start_urls=[shop], allowed_domains=["127.0.0.1"], sitemap_urls=[shop + "sitemap.xml"],
                  allow_private=True)
    config["rate"].update(download_delay_s=0, autothrottle=False)
    target = workdir / "crawlers" / "sites" / "example.yaml"
    target.parent.mkdir(parents=True)
    target.write_text(yaml.safe_dump(config))


@pytest.mark.slow
def test_the_readme_runs_as_written(tmp_path: Path, staging_shop: str) -> None:
    workdir = tmp_path / "newcomer"
    workdir.mkdir()
    example_config_for(workdir, staging_shop)
    terminal = Terminal.fresh(workdir)
    for command, step in steps("embedded"):
        if command == "snapmode serve":
            serve_and_use_a_second_terminal(terminal, step, new_photos=tmp_path / "staging-shop" / "images")
        else:
            terminal.run(step, shop=staging_shop)
    assert (workdir / ".snapmode" / "vectors.db").is_file()  # the default, relative data dir
    assert (workdir / "checkpoints" / "mine" / "model.safetensors").is_file()
    assert (workdir / "report" / "metrics.md").is_file()


def serve_and_use_a_second_terminal(terminal: Terminal, step: Step, new_photos: Path) -> None:
    """`snapmode serve` in one terminal; in a second, `snapmode ingest` of new photos and `snapmode search` with one:
    the running server shares the data dir, and its API finds the new products without a restart."""
    photos = terminal.cwd / "new-photos"
    photos.mkdir()
    for n, image in enumerate(sorted(new_photos.glob("SM0000[1-3]/0.jpg"))):
        shutil.copy(image, photos / f"look-{n}.jpg")
    log = terminal.cwd / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(step.run.split(), cwd=terminal.cwd, env=terminal.env, stdout=out,
                                  stderr=subprocess.STDOUT)
    try:
        wait_for_api("http://127.0.0.1:8000", server, log)
        second = Terminal(cwd=terminal.cwd, env=dict(terminal.env))
        second.run(Step("snapmode ingest new-photos", ("vectors in store 39", "products in store 15")))
        second.run(Step("snapmode search new-photos/look-1.jpg --k 3", ("1 1.000 sample-shop:look-1",)))
        with (photos / "look-1.jpg").open("rb") as photo:
            answer = httpx.post("http://127.0.0.1:8000/search", files={"file": photo}, data={"k": "3"}, timeout=60)
        assert answer.status_code == 200 and answer.json()["results"][0]["product_key"] == "sample-shop:look-1"
        for _, example in steps("serving"):  # the README's API examples, as written
            second.run(example)
        assert "Traceback" not in log.read_text()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    for expected in step.expect:
        assert expected in words(log.read_text())


def wait_for_api(base: str, server: subprocess.Popen[bytes], log: Path, timeout_s: float = 120) -> None:
    def answers() -> bool:
        assert server.poll() is None, f"snapmode serve exited:\n{log.read_text()}"
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(answers, timeout_s=timeout_s, what="snapmode serve", detail=log.read_text)


@pytest.mark.integration
def test_the_readme_cluster_commands_run_as_written(tmp_path: Path, native_cluster) -> None:  # type: ignore[no-untyped-def]
    """The cluster part, with the session's cluster as the one `snapmode cluster up` finds running."""
    if native_cluster.settings is None:
        pytest.skip("external services: `snapmode cluster` manages only a native cluster")
    workdir = tmp_path / "newcomer"
    workdir.mkdir()
    terminal = Terminal.fresh(workdir)
    terminal.env["SNAPMODE_CLUSTER_DIR"] = str(native_cluster.settings.cluster_run_dir)
    terminal.run(WALKTHROUGH["snapmode catalog generate --out DIR --products 300 --views 4 --seed 7"])
    for _, step in steps("cluster"):
        terminal.run(step)
    assert (workdir / ".snapmode" / "topology" / "topology.jar").is_file()  # built under the relative data dir
