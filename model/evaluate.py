"""Compare embedders on a query/gallery split: metrics, a Markdown table, a precision-recall plot, a query grid."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snapmode.model.batches import open_rgb
from snapmode.progress import progress_bars
from snapmode.model.data import RetrievalSplit
from snapmode.model.metrics import precision_recall_curve, rank, relevance, retrieval_metrics, sign_test
from snapmode.model.plots import plot_precision_recall, query_grid

METRIC_NAMES = ("p@1", "p@10", "map@10", "r@1", "r@10")
DEPTH = 20  # results ranked per query: 10 for the metrics, 20 for the precision-recall curve


@dataclass(frozen=True, slots=True)
class MethodResult:
    name: str
    metrics: dict[str, float]
    ranking: np.ndarray  # (queries, DEPTH) gallery indices, best first
    hits: np.ndarray  # (queries, DEPTH) booleans
    relevant_counts: np.ndarray  # (queries,)


def embed_all(embedders: Sequence, paths: Sequence[Path], *, chunk: int = 128, desc: str = "embedding",
              show_progress: bool = True) -> list[np.ndarray]:
    """Every embedder's vectors for `paths`; each image is decoded once for all of them."""
    parts: list[list[np.ndarray]] = [[] for _ in embedders]
    with progress_bars(show=show_progress) as bars:
        task = bars.add_task(desc, total=len(paths))
        for begin in range(0, len(paths), chunk):
            images = [open_rgb(p) for p in paths[begin:begin + chunk]]
            for part, embedder in zip(parts, embedders):
                part.append(embedder.embed(images))
            bars.update(task, advance=len(images))
    return [np.concatenate(p) if p else np.empty((0, e.dim), np.float32) for p, e in zip(parts, embedders)]


def evaluate(embedders: Sequence, split: RetrievalSplit, *, show_progress: bool = True) -> dict[str, MethodResult]:
    """Each embedder's retrieval results on the split, keyed by its name."""
    if not split.queries or not split.gallery:
        raise ValueError("the split has no queries or no gallery: products need at least two photos")
    query_labels = np.array([label for label, _ in split.queries])
    gallery_labels = np.array([label for label, _ in split.gallery])
    ids, counts = np.unique(gallery_labels, return_counts=True)
    per_label = dict(zip(ids, counts))
    exclude = None if split.self_index is None else np.asarray(split.self_index)
    relevant_counts = np.array([per_label.get(label, 0) for label in query_labels]) - (exclude is not None)
    gallery = embed_all(embedders, [p for _, p in split.gallery], desc="embedding gallery", show_progress=show_progress)
    if exclude is None:
        queries = embed_all(embedders, [p for _, p in split.queries], desc="embedding queries",
                            show_progress=show_progress)
    else:  # the queries are gallery photos: no second pass
        queries = [g[exclude] for g in gallery]
    results = {}
    for embedder, q, g in zip(embedders, queries, gallery):
        ranking = rank(q, g, DEPTH, exclude)
        hits = relevance(query_labels, gallery_labels, ranking)
        results[embedder.name] = MethodResult(embedder.name, retrieval_metrics(hits, relevant_counts), ranking, hits,
                                              relevant_counts)
    return results


def markdown_table(results: dict[str, MethodResult]) -> str:
    header = "| method | " + " | ".join(METRIC_NAMES) + " |"
    rule = "|---|" + "---:|" * len(METRIC_NAMES)
    rows = [f"| {name} | " + " | ".join(f"{r.metrics[m]:.3f}" for m in METRIC_NAMES) + " |"
            for name, r in results.items()]
    return "\n".join([header, rule, *rows])


def paired_top1(results: dict[str, MethodResult]) -> str:
    """How the first method and each other one disagree at rank 1, query by query, with the sign test's p-value: a
    difference of a few queries in P@1 is only real when the disagreements are this one-sided by more than chance."""
    names = list(results)
    first = results[names[0]].hits[:, 0]
    lines = [f"Top-1 disagreements with {names[0]} (queries right with one method only; two-sided sign test):", ""]
    for name in names[1:]:
        other = results[name].hits[:, 0]
        ahead, behind = int((first & ~other).sum()), int((~first & other).sum())
        lines.append(f"- {name}: {names[0]} alone right on {ahead}, {name} alone right on {behind}, "
                     f"p = {sign_test(ahead, behind):.3g}")
    return "\n".join(lines)


def markdown_report(results: dict[str, MethodResult]) -> str:
    """The table and, when there is more than one method, their top-1 disagreements."""
    table = markdown_table(results)
    return table + "\n\n" + paired_top1(results) if len(results) > 1 else table


def write_report(results: dict[str, MethodResult], split: RetrievalSplit, out: Path, *, grid_queries: int = 12,
                 grid_results: int = 5) -> dict[str, Path]:
    """`metrics.md`, `metrics.json`, `precision_recall.png` and, for the first method, `queries.png` (queries spread
    over the split) and `failures.png` (queries it gets wrong at rank 1, when there are any) in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"table": out / "metrics.md", "json": out / "metrics.json", "pr": out / "precision_recall.png",
             "grid": out / "queries.png"}
    paths["table"].write_text(markdown_report(results) + "\n", encoding="utf-8")
    paths["json"].write_text(json.dumps({n: r.metrics for n, r in results.items()}, indent=2), encoding="utf-8")
    plot_precision_recall({n: precision_recall_curve(r.hits, r.relevant_counts) for n, r in results.items()},
                          paths["pr"])
    first = next(iter(results.values()))

    def grid(rows: np.ndarray, path: Path) -> None:
        picks = rows[np.linspace(0, len(rows) - 1, min(grid_queries, len(rows))).astype(int)]
        query_grid([split.queries[i][1] for i in picks],
                   [[split.gallery[j][1] for j in first.ranking[i, :grid_results]] for i in picks],
                   first.hits[picks, :grid_results], path)

    grid(np.arange(len(split.queries)), paths["grid"])
    missed = np.flatnonzero(~first.hits[:, 0])
    if len(missed):
        paths["failures"] = out / "failures.png"
        grid(missed, paths["failures"])
    return paths
