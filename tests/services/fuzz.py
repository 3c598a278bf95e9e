"""Run the schema fuzzer (schemathesis: every check, a fixed seed, a bounded number of examples per operation) against
the API's own `/openapi.json`, and report the cases it generated and the failures it found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.engine.statistic import Statistic

SEED = 36
EXAMPLES = 40  # per operation and phase


@dataclass
class FuzzReport:
    cases: int = 0
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)  # a request and its answer for failed checks

    def summary(self) -> str:
        return f"schemathesis: {self.cases} cases generated, {len(self.failures)} failures, {len(self.errors)} errors"


def failed_requests(recorder: Any, most: int = 3) -> list[str]:
    """The first `most` requests of `recorder` that failed a check, with their answers."""
    out = []
    for case_id, checks in recorder.checks.items():
        failed = [c.name for c in checks if str(c.status) == "failure"]
        interaction = recorder.interactions.get(case_id)
        if not failed or interaction is None or len(out) >= most:
            continue
        request, response = interaction.request, interaction.response
        body = (request.body or b"")[:300]
        answer = f"{response.status_code} {(response.content or b'')[:300]!r}" if response is not None else "none"
        out.append(f"{failed}: {request.method} {request.uri} body={body!r} -> {answer}")
    return out


ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis's default for valid data
# What a schema cannot say: whether bytes are an image, whether a URL answers. The photo operations may refuse a
# schema-valid photo as documented (413, 415, 422), and a photo URL may be away (502, 504: upstream, not this server).
PHOTO_OPERATIONS = [
    {"include-path": "/search", "include-method": "POST",
     "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "413", "415", "422"]}}},
    {"include-path": "/search/url", "include-method": "POST",
     "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "413", "415", "422"]},
                "not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "502", "504"]}}},
]


def fuzz_config(examples: int = EXAMPLES) -> SchemathesisConfig:
    """Every check, a fixed seed, `examples` per operation and phase, each phase run once."""
    return SchemathesisConfig.from_dict({
        "seed": SEED,
        "generation": {"max-examples": examples, "deterministic": True},
        "checks": {"enabled": True},
        "operations": PHOTO_OPERATIONS,
    })


def without_binary_format(document: dict[str, Any]) -> dict[str, Any]:
    """The document with `format: binary` left out where `contentMediaType` says the same (OpenAPI 3.1's way, kept
    for 3.0 tools such as client generators): schemathesis then draws bytes for the photo field as it does from
    `contentMediaType`, instead of a value its `if`/`then` validation cannot take."""
    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items()
                    if not (k == "format" and v == "binary" and "contentMediaType" in node)}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(document)


def fuzz(app: Any, *, examples: int = EXAMPLES, headers: dict[str, str] | None = None) -> FuzzReport:
    """Fuzz the ASGI `app` (its lifespan already running) through every operation but DELETE."""
    config = fuzz_config(examples)
    schema = schemathesis.openapi.from_dict(without_binary_format(app.openapi()), config=config)  # as served
    schema.app, schema.location = app, "/openapi.json"
    schema = schema.exclude(method="DELETE")
    if headers:
        schema.config.headers = {**(schema.config.headers or {}), **headers}
    statistic = Statistic()
    report = FuzzReport()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            statistic.on_scenario_finished(event.recorder)
            report.examples.extend(failed_requests(event.recorder))
        elif isinstance(event, events.NonFatalError):
            report.errors.append(f"{event.label}: {event.value!r}"[:500])
        elif isinstance(event, events.FatalError):
            report.errors.append(f"fatal: {event.exception!r}"[:500])
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures:
                report.failures.append(f"{failure.operation}: {failure.title}: {failure.message}"[:800])
    report.cases = statistic.total_cases
    for label, groups in statistic.failures.items():
        for group in groups.values():
            for failure in group.failures:
                text = f"{label}: {failure.title}: {failure.message}"[:800]
                if text not in report.failures:
                    report.failures.append(text)
    return report
