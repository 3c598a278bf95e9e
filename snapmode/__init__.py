"""SnapMode: query-by-image product search."""

__version__ = "0.1.0"
