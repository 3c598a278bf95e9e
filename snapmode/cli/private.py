"""`--allow-private`: one flag that reaches every step of a command (crawl, image fetch), and its hint."""

from __future__ import annotations

from typing import Annotated

import typer

from snapmode.config import Settings

AllowPrivateOption = Annotated[bool, typer.Option(
    "--allow-private", help="Fetch pages and images from private, loopback and link-local addresses (a staging shop)")]
PRIVATE_ADDRESS_HINT = "images on private or loopback addresses are refused: pass --allow-private for a staging shop"


def allowing_private(settings: Settings, allow_private: bool) -> Settings:
    """`settings`, with private addresses allowed for every step when the flag is given."""
    return settings.model_copy(update={"allow_private_urls": True}) if allow_private else settings
