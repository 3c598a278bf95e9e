"""The generated references (docs/reference/cli.md, docs/reference/configuration.md, .env.example) match their sources,
and every setting says what it does."""

from __future__ import annotations

import pytest

from snapmode.cli import reference
from snapmode.config import Settings


@pytest.mark.parametrize("path", list(reference.generated()), ids=lambda p: p.name)
def test_the_generated_reference_is_current(path) -> None:  # type: ignore[no-untyped-def]
    assert path.read_text() == reference.generated()[path], (
        f"{path.relative_to(reference.ROOT)} is out of date: run `make reference`")


def test_every_setting_has_a_description() -> None:
    missing = [name for name, field in Settings.model_fields.items() if len((field.description or "").split()) < 3]
    assert missing == []


def test_every_setting_is_in_a_section_of_the_references() -> None:
    listed = [name for _, names in reference.sections() for name in names]
    assert sorted(listed) == sorted(Settings.model_fields)
    text = reference.config_reference()
    assert all(f"`SNAPMODE_{name.upper()}`" in text for name in Settings.model_fields)


def test_env_example_sets_nothing_and_reads_back_as_the_defaults(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Every line of .env.example is a comment: uncommented, its values are the defaults."""
    lines = reference.env_example().splitlines()
    assert all(not line or line.startswith("#") for line in lines)
    assignments = [line[2:] for line in lines if line.startswith("# SNAPMODE_")]
    env = tmp_path / "snapmode.env"
    env.write_text("\n".join(a for a in assignments if not a.endswith("=")) + "\n")
    assert Settings(_env_file=env) == Settings(_env_file=None)  # type: ignore[call-arg]
