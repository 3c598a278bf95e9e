"""Apache Solr: one standalone node (Solr's embedded Jetty runner) serving the cores under its Solr home."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from snapmode.infra.process import ProcessSpec
from snapmode.infra.services.base import HOST, Probe, Service
from snapmode.infra.solr_security import write_security

SOLR_CONFIG = Path(__file__).resolve().parent.parent / "solr"


class SolrService(Service):
    name = "solr"
    port_field = "solr"
    url_template = "http://{host}:{port}/solr"  # the node's base URL; a core is at `<url>/<core>`

    @property
    def home(self) -> Path:
        return self.ctx.data("solr")

    def prepare(self) -> None:
        shutil.copyfile(SOLR_CONFIG / "solr.xml", self.home / "solr.xml")
        (self.home / "configsets").mkdir(exist_ok=True)  # where the configset upload API writes on a standalone node
        security = self.home / "security.json"
        if self.ctx.solr_auth:
            write_security(self.home, *self.ctx.solr_auth)
        elif security.exists():
            security.unlink()

    def processes(self) -> list[ProcessSpec]:
        ctx = self.ctx
        classpath = f"{ctx.artifacts.solr_launcher}:{ctx.artifacts.classpath('solr')}"
        cmd = [*ctx.jvm(ctx.jvm_heap_mb, classpath, f"-Dsolr.log.dir={ctx.root / 'logs'}", "-Dsolr.jetty.host=" + HOST,
                        "-Dsolr.disable.shardsWhitelist=true", "-Dsolr.modules=", "-Ddisable.configEdit=true"),
               "SolrNode", str(self.home), str(self.port)]
        return [ProcessSpec("solr", cmd, ports=[self.port], cwd=self.home)]

    def probe(self) -> Probe:
        try:
            resp = httpx.get(f"{self.url}/admin/cores", params={"action": "STATUS", "wt": "json"}, timeout=3,
                             auth=self.ctx.solr_auth)
            resp.raise_for_status()
            cores = sorted(resp.json().get("status", {}))
        except (httpx.HTTPError, ValueError) as exc:
            return Probe(False, f"core admin request failed: {exc}")
        return Probe(True, f"cores: {', '.join(cores) or 'none'}")

    def core_url(self, core: str) -> str:
        return f"{self.url}/{core}"
