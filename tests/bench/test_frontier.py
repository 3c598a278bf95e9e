"""The speed/quality frontier plot of the docs: which embedders are on it, and the figure it draws."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from snapmode.bench.frontier import pareto, plot_frontier, read_rows

TABLE = Path(__file__).parents[2] / "docs" / "data" / "frontier.tsv"


def test_the_frontier_keeps_what_nothing_beats_on_both_speed_and_quality():
    points = [(1.0, 0.95), (4.0, 0.96), (6.0, 0.90), (3.0, 0.97), (5.0, 0.90)]
    assert pareto(points) == [2, 1, 3]  # (5.0, 0.90) is beaten by (6.0, 0.90); (1.0, 0.95) by (4.0, 0.96)


def test_the_docs_table_names_one_default_and_plots(tmp_path):
    rows = read_rows(TABLE)
    assert [r["embedder"] for r in rows if r["shipped"] == "yes"] == ["cbir-gan 256-d, int8, 224 px (default)"]
    assert {"speedup_b1", "speedup_b32", "photos_map10", "icons_map10", "synthetic_map10"} <= set(rows[0])
    path = plot_frontier(rows, tmp_path / "frontier.png")
    with Image.open(path) as image:
        assert image.width > 800 and image.height > 300
