"""The compose commands of the docs' operating page are ones Compose accepts, on files and services that exist.

No Docker engine answers here, so each command line is checked as far as Compose goes without one: the files,
profiles and variables it names render (`config`), its subcommand takes its flags (`--help` parses them first), the
services it names exist, and the secrets it exports are the ones the stack requires.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.deploy.rendering import COMPOSE_BIN, ROOT, SECRETS, render

OPERATING = ROOT / "docs" / "operating.md"
GLOBAL_FLAGS = {"-f", "--file", "--profile", "-p", "--project-name"}


def operator_lines() -> list[str]:
    """The `$ ` lines of the console blocks in the operating page's section on the compose stack."""
    text = OPERATING.read_text()
    section = text.split("## Operating the compose stack", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```console\n(.*?)```", section, re.S)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def compose_commands() -> list[str]:
    return [line for line in operator_lines() if "docker compose" in line]


def split(line: str) -> tuple[dict[str, str], list[str], list[str]]:
    """`VAR=x docker compose GLOBAL... SUB ARGS` as (env, global args, [SUB, ARGS...])."""
    words = shlex.split(line, comments=True)
    env = {}
    while "=" in words[0] and not words[0].startswith("-"):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[:2] == ["docker", "compose"], line
    words, global_args = words[2:], []
    while words[0] in GLOBAL_FLAGS:
        global_args += words[:2]
        words = words[2:]
    return env, global_args, words


def test_the_section_documents_compose_commands() -> None:
    assert len(compose_commands()) >= 8
    subcommands = {split(line)[2][0] for line in compose_commands()}
    assert {"build", "up", "run", "exec"} <= subcommands


def test_the_exported_secrets_are_the_required_ones() -> None:
    exported = {name for line in operator_lines() if line.startswith("export ")
                for name in re.findall(r"\b([A-Z][A-Z0-9_]+)=", line)}
    assert set(SECRETS) <= exported


@pytest.mark.parametrize("line", compose_commands())
def test_compose_accepts_the_command(line: str) -> None:
    import subprocess

    env, global_args, (sub, *args) = split(line)
    files = tuple(ROOT / path for path in global_args[1::2] if (ROOT / path).suffix == ".yml")
    assert all(path.is_file() for path in files), line
    profiles = tuple(value for flag, value in zip(global_args[::2], global_args[1::2]) if flag == "--profile")
    stack = render(env, files=files or (ROOT / "docker-compose.yml",), profiles=profiles or ("jobs", "crawl"))

    base = {"PATH": "/usr/bin:/bin", **SECRETS, **env}
    parsed = subprocess.run([str(COMPOSE_BIN), "--project-directory", str(ROOT), *global_args, sub, "--help", *args],
                            capture_output=True, text=True, env=base, timeout=60)
    assert parsed.returncode == 0, f"{line}: {parsed.stderr}"

    named = [word.split("=")[0] for flag, word in zip(args, args[1:]) if flag == "--scale"]
    if sub in ("run", "exec"):
        named.append(next(word for word in args if not word.startswith("-")))
    for service in named:
        assert service in stack["services"], f"{line}: no service {service}"


def test_topology_status_lists_executors() -> None:
    """The scaling check the section shows reads the executors per component from `topology status --json`."""
    from snapmode.topologies.nimbus import ComponentStats

    assert ComponentStats(executors=3).as_dict()["executors"] == 3


def test_files_named_by_the_section_exist() -> None:
    for name in re.findall(r"`(docker-compose[.\w]*\.yml|Dockerfile|\.dockerignore)`",
                           OPERATING.read_text()):
        assert Path(ROOT, name).is_file(), name
