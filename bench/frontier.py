"""The frontier of embedding speed against retrieval quality: a plot of measured embedders.

Each row of the table (TSV, a header naming the columns, `#` comments) is one embedder as measured by `snapmode bench
embed` (the pretrained backbone's CPU ms per image divided by its own, in the same run) and `snapmode eval` (mAP@10 on
the real sets and the synthetic catalog). Usage: python -m snapmode.bench.frontier docs/data/frontier.tsv docs/images/frontier.png
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PANELS = (("photos_map10", "photos: mAP@10"), ("icons_map10", "icons: mAP@10"),
          ("synthetic_map10", "synthetic catalog: mAP@10"))
SPEED = "speedup_b32"


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as table:
        return [row for row in csv.DictReader(filter(lambda line: not line.startswith("#"), table), delimiter="\t")]


def pareto(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both axes (faster and at least as good), fastest first."""
    order = sorted(range(len(points)), key=lambda i: (-points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def plot_frontier(rows: list[dict[str, str]], path: Path) -> Path:
    fig, axes = plt.subplots(1, len(PANELS), figsize=(15, 4.8))
    for ax, (column, title) in zip(axes, PANELS):
        points = [(float(r[SPEED]), float(r[column])) for r in rows]
        front = pareto(points)
        ax.plot([points[i][0] for i in front], [points[i][1] for i in front], color="tab:green", alpha=0.5, lw=2,
                label="frontier")
        for row, (x, y) in zip(rows, points):
            shipped = row.get("shipped") == "yes"
            ax.scatter(x, y, s=70 if shipped else 35, color="tab:red" if shipped else "tab:blue", zorder=3)
            ax.annotate(row["embedder"], (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
        ax.set(xscale="log", xlabel="speed at batch 32: the backbone's CPU ms per image / this one's", ylabel=title,
               title=title)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle("Speed against quality (one CPU thread each; red: the default)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    print(plot_frontier(read_rows(Path(sys.argv[1])), Path(sys.argv[2])))
