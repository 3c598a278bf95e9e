#!/usr/bin/env bash
# Installs what the native cluster needs on a Debian machine, idempotently: a JDK 17 and Maven (apt, as root, only
# when missing), the `cluster` extra into the given Python environment, and the services' jars from Maven Central
# into the git-ignored artifact cache. Usage: infra/setup.sh [PYTHON]   (default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-.venv/bin/python}"

need=()
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
if ((${#need[@]})); then
    if [ "$(id -u)" -ne 0 ]; then
        echo "infra/setup.sh: please install ${need[*]} (needs root: apt-get install -y ${need[*]})" >&2
        exit 1
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

"$PY" -m pip install -q -e ".[cluster]"
"$PY" -m snapmode.cli.main cluster fetch
