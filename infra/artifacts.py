"""The jars of the JVM services: resolved from Maven Central with infra/pom.xml into a git-ignored cache."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from snapmode.infra.errors import ClusterError

INFRA_DIR = Path(__file__).resolve().parent
POM = INFRA_DIR / "pom.xml"
DEFAULT_ARTIFACTS_DIR = INFRA_DIR / ".artifacts"

# Maven profile -> what runs on it (a folder of jars each under the artifacts dir).
# The topology's spout is Python (snapmode/queue.py's consumer), so workers need no Kafka client jars (no extlib).
PROFILES = ("kafka", "zookeeper", "storm", "storm-worker", "solr")
SOLR_LAUNCHER = INFRA_DIR / "java" / "SolrNode.java"
MIN_JAVA = 17


def find_java(java_home: Path | None = None) -> Path:
    """The `java` executable (from `java_home` or PATH), checked to be Java 17 or newer."""
    java = java_home / "bin" / "java" if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise ClusterError(f"Java {MIN_JAVA}+ not found ({'in ' + str(java_home) if java_home else 'on PATH'}): "
                           "install it (infra/setup.sh does: apt-get install openjdk-17-jdk-headless) "
                           "or set SNAPMODE_JAVA_HOME")
    out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(match.group(1)) if match else 0
    major = int(match.group(2)) if major == 1 and match and match.group(2) else major
    if major < MIN_JAVA:
        raise ClusterError(f"{java} is Java {major or '?'}: the cluster needs Java {MIN_JAVA}+ "
                           f"(set SNAPMODE_JAVA_HOME to a newer JDK)", out.strip())
    return Path(java)


class Artifacts:
    """The artifacts dir: `<profile>/*.jar` for every Maven profile, plus the compiled Solr launcher."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def lib(self, profile: str) -> Path:
        return self.root / profile

    def classpath(self, *profiles: str) -> str:
        return ":".join(str(self.lib(p) / "*") for p in profiles)

    @property
    def solr_launcher(self) -> Path:
        return self.root / "solr-launcher"

    def _stamp(self, profile: str) -> Path:
        return self.lib(profile) / ".complete"

    def missing(self) -> list[str]:
        """Profiles not fetched yet (or fetched for other versions than the pom names)."""
        stamp = POM.read_bytes()
        missing = [p for p in PROFILES if not self._stamp(p).exists() or self._stamp(p).read_bytes() != stamp]
        if not (self.solr_launcher / "SolrNode.class").exists():
            missing.append("solr-launcher")
        return missing

    def fetch(self, java: Path, on_step: Callable[[str], None] = lambda _: None) -> None:
        """Resolve every missing profile with Maven and compile the Solr launcher; idempotent."""
        todo = self.missing()
        if not todo:
            return
        mvn = shutil.which("mvn")
        if mvn is None and any(p in PROFILES for p in todo):
            raise ClusterError(f"Maven (mvn) not found and the cluster's jars are not in {self.root}: "
                               "install it (infra/setup.sh does: apt-get install maven)")
        for profile in (p for p in PROFILES if p in todo):
            on_step(f"resolving {profile} jars with Maven")
            target = self.lib(profile)
            shutil.rmtree(target, ignore_errors=True)
            cmd = [mvn, "-q", "-B", "-f", str(POM), "-P", profile, "dependency:copy-dependencies",
                   f"-DoutputDirectory={target}"]
            result = subprocess.run(cmd, capture_output=True, text=True)
            if result.returncode != 0:
                raise ClusterError(f"Maven could not resolve the {profile} jars (is Maven Central reachable?)",
                                   "\n".join((result.stdout + result.stderr).splitlines()[-30:]))
            self._stamp(profile).write_bytes(POM.read_bytes())
        on_step("compiling the Solr launcher")
        self._compile_solr_launcher(java)

    def _compile_solr_launcher(self, java: Path) -> None:
        javac = java.parent / "javac"
        if not javac.exists():
            raise ClusterError(f"javac not found beside {java}: install a JDK (apt-get install openjdk-17-jdk-headless)")
        self.solr_launcher.mkdir(parents=True, exist_ok=True)
        result = subprocess.run([str(javac), "-nowarn", "-cp", self.classpath("solr"), "-d", str(self.solr_launcher),
                                 str(SOLR_LAUNCHER)], capture_output=True, text=True)
        if result.returncode != 0:
            raise ClusterError("compiling the Solr launcher failed", result.stderr[-3000:])

