"""The layout's rules (docs/architecture.md): the ground floor imports no room above it, each room imports only the
rooms it is allowed to, and no two rooms import each other, counting imports inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GROUND = {"config", "records", "interfaces", "logs", "progress", "waiting", "retries", "pipeline", "stores", "queue"}
# room -> the rooms above the ground floor it may import; "platform" and "cli" are the composition root
ALLOWED: dict[str, set[str]] = {
    "ground": set(),
    "model": set(),
    "datasets": set(),
    "search": set(),
    "crawlers": set(),
    "infra": set(),
    "platform": {"model", "search"},
    "services": {"search", "platform"},
    "topologies": {"platform"},
    "bench": {"model", "datasets", "search", "topologies", "infra", "platform"},
    "cli": {"model", "datasets", "search", "services", "topologies", "crawlers", "infra", "bench", "platform"},
}
FOLDERS = {"snapmode": None, **{room: room for room in ALLOWED if (ROOT / room).is_dir()}}


def room_of(module: str) -> str:
    """`snapmode.pipeline.steps` -> ground, `snapmode.cli.main` -> cli, `snapmode.model.train` -> model."""
    parts = module.split(".")
    if parts[0] != "snapmode" or len(parts) == 1:
        return "ground"
    return "ground" if parts[1] in GROUND else parts[1]


def module_of(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts if parts[0] == "snapmode" else ["snapmode", *parts])


def imports() -> list[tuple[str, str, str]]:
    """(file, importing module, imported module) for every import of a SnapMode module, wherever it is written."""
    found = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                found += [(str(path.relative_to(ROOT)), module_of(path), n) for n in names
                          if n.split(".")[0] == "snapmode"]
    return found


def room_edges() -> dict[tuple[str, str], str]:
    """(importing room, imported room) -> one file where it happens."""
    edges: dict[tuple[str, str], str] = {}
    for file, importer, imported in imports():
        a, b = room_of(importer), room_of(imported)
        if a != b:
            edges.setdefault((a, b), file)
    return edges


def test_every_room_is_known() -> None:
    rooms = {room_of(importer) for _, importer, _ in imports()}
    assert rooms <= set(ALLOWED), f"rooms without rules: {sorted(rooms - set(ALLOWED))}"
    assert len(imports()) > 300  # the walk found the code


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_a_room_imports_only_what_it_may(room: str) -> None:
    wrong = {f"{file} imports {b}" for (a, b), file in room_edges().items()
             if a == room and b != "ground" and b not in ALLOWED[room]}
    assert not wrong, f"{room} may import the ground floor and {sorted(ALLOWED[room]) or 'no other room'}: {wrong}"


def test_no_cycle_between_rooms() -> None:
    edges = room_edges()
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph.get(start, ()))

    cycles = sorted(f"{a} -> {b} ({file}) and back" for (a, b), file in edges.items() if reaches(b, a, {b}))
    assert not cycles, cycles


def test_the_rules_catch_an_upward_import(tmp_path: Path) -> None:
    """The check itself: a ground-floor module importing the model is a room edge the rules refuse."""
    assert room_of("snapmode.pipeline.steps") == "ground" and room_of("snapmode.model.train") == "model"
    assert room_of("snapmode.queue.kafka") == "ground" and room_of("snapmode.platform") == "platform"
    assert "model" not in ALLOWED["ground"] and "cli" not in ALLOWED["services"]
