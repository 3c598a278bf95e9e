"""The address check: every way of writing an address, names resolved by an injected resolver, failures refused."""

from __future__ import annotations

import ipaddress

import pytest

from snapmode.pipeline.addresses import checked_addresses, ip_literal, is_public_address
from snapmode.pipeline.errors import ImageRejected


def never(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} is an address: nothing to resolve")


@pytest.mark.parametrize(("host", "address"), [
    ("127.0.0.1", "127.0.0.1"), ("2130706433", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"), ("0x7f.0.0.1", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"), ("127.1", "127.0.0.1"), ("[::1]", "::1"), ("::ffff:127.0.0.1", "127.0.0.1"),
    ("[::ffff:7f00:1]", "127.0.0.1"), ("[fe80::1%eth0]", "fe80::1"), ("shop.example", None), ("cafe", None)])
def test_addresses_are_read_in_every_form(host: str, address: str | None) -> None:
    assert ip_literal(host) == (address and ipaddress.ip_address(address))


@pytest.mark.parametrize("host", [
    "127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "0.0.0.0", "[::]",
    "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "224.0.0.1", "255.255.255.255",
    "[fe80::1]", "[fc00::1]", "[64:ff9b::a9fe:a9fe]", "[2002:a00:1::]"])
def test_non_public_addresses_are_refused_without_asking_the_resolver(host: str) -> None:
    with pytest.raises(ImageRejected) as err:
        checked_addresses(host, 80, resolver=never)
    assert err.value.reason == "private_address" and not err.value.retryable
    assert checked_addresses(host, 80, allow_private=True, resolver=never)


@pytest.mark.parametrize("answer", [["127.0.0.1"], ["93.184.215.14", "10.0.0.8"], ["::ffff:10.0.0.1"], ["fe80::1%2"]])
def test_a_name_with_any_non_public_address_is_refused(answer: list[str]) -> None:
    with pytest.raises(ImageRejected, match="private_address"):
        checked_addresses("shop.test", 443, resolver=lambda host, port: answer)


def test_a_name_is_resolved_once_and_its_public_addresses_kept() -> None:
    asked = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return ["93.184.215.14", "93.184.215.14", "2606:2800:21f:cb07::1"]

    assert checked_addresses("shop.test", 443, resolver=resolver) == [
        ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("2606:2800:21f:cb07::1")]
    assert asked == [("shop.test", 443)]
    assert is_public_address(ipaddress.ip_address("::ffff:8.8.8.8"))


@pytest.mark.parametrize("answer", [OSError("Name or service not known"), []])
def test_a_name_that_does_not_resolve_is_a_retryable_refusal(answer: OSError | list[str]) -> None:
    def resolver(host: str, port: int) -> list[str]:
        if isinstance(answer, OSError):
            raise answer
        return answer

    with pytest.raises(ImageRejected) as err:
        checked_addresses("nowhere.test", 80, resolver=resolver)
    assert (err.value.reason, err.value.retryable) == ("unreachable", True)
