"""Who may call the API and how many searches run at once: API keys, admin keys and a concurrency cap that sheds
load."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from snapmode.config import Settings
from snapmode.services.deps import SettingsDep
from snapmode.services.problems import ApiError

RETRY_AFTER_S = 2  # what a client refused for load is told to wait
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="one of SNAPMODE_API_KEYS")
admin_key_header = APIKeyHeader(name="X-Admin-Key", auto_error=False, description="one of SNAPMODE_ADMIN_KEYS",
                                scheme_name="AdminKey")


def open_api_refusal(settings: Settings, host: str) -> str | None:
    """Why the API may not listen on `host` as configured: an address beyond loopback needs API keys (or
    `SNAPMODE_ALLOW_OPEN_API`); None when it may."""
    if settings.api_keys or settings.allow_open_api or host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass  # a host name: it may resolve beyond loopback
    return (f"refusing to serve on {host} without API keys: set SNAPMODE_API_KEYS (make one with: python -c "
            "'import secrets; print(secrets.token_urlsafe(24))'), or SNAPMODE_ALLOW_OPEN_API=true for a private "
            "network you trust")


def _known(key: str | None, keys: list[str]) -> bool:
    """Whether `key` is one of `keys`, compared in constant time."""
    return key is not None and any(hmac.compare_digest(key.encode(), k.encode()) for k in keys)


def require_api_key(settings: SettingsDep, key: Annotated[str | None, Depends(api_key_header)]) -> None:
    """With `SNAPMODE_API_KEYS` set, a request must name one of them in `X-API-Key` (compared in constant time)."""
    if not settings.api_keys:
        return
    if not _known(key, settings.api_keys):
        raise ApiError(401, "unauthorized", "A valid X-API-Key header is required.",
                       headers={"WWW-Authenticate": "ApiKey"})


def require_admin_key(settings: SettingsDep, key: Annotated[str | None, Depends(admin_key_header)]) -> None:
    """Admin routes need one of `SNAPMODE_ADMIN_KEYS` in `X-Admin-Key`; without any configured they are off (403)."""
    if not settings.admin_keys:
        raise ApiError(403, "admin_off", "Admin routes are off: set SNAPMODE_ADMIN_KEYS to use them.")
    if not _known(key, settings.admin_keys):
        raise ApiError(401, "unauthorized", "A valid X-Admin-Key header is required.",
                       headers={"WWW-Authenticate": "AdminKey"})


class SearchSlots:
    """At most `limit` searches in flight; one more is refused at once (503, Retry-After) rather than queued.
    Taken and given back on the event loop's thread only, so a plain counter is enough."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0

    def take(self) -> None:
        if self.in_flight >= self.limit:
            raise ApiError(503, "busy", "The server is answering as many searches as it can; try again shortly.",
                           headers={"Retry-After": str(RETRY_AFTER_S)})
        self.in_flight += 1

    def give_back(self) -> None:
        self.in_flight -= 1


async def search_slot(request: Request) -> AsyncIterator[None]:
    """A slot of the app's `SearchSlots` for the duration of one search request."""
    slots: SearchSlots = request.app.state.search_slots
    slots.take()
    try:
        yield
    finally:
        slots.give_back()


ApiKeyDep = Depends(require_api_key)
AdminKeyDep = Depends(require_admin_key)
SearchSlotDep = Depends(search_slot)
