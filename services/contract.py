"""The OpenAPI document as this server, with its settings, answers: the configured limits of `k` and `offset`, API keys
optional or required as configured, no null where a query parameter or form field can only be absent."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from snapmode.config import Settings

API_KEY_SCHEME = "APIKeyHeader"
Document = dict[str, Any]


def install_contract(app: FastAPI, settings: Settings) -> None:
    """Serve `contract_document` of `app` as its `/openapi.json`, built once."""
    built: Document = {}

    def openapi() -> Document:
        if not built:
            built.update(contract_document(app, settings))
        return built

    app.openapi = openapi  # type: ignore[method-assign]


def contract_document(app: FastAPI, settings: Settings) -> Document:
    """FastAPI's document of `app`, then made to say what the server with `settings` does."""
    doc = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    maxima = {"k": settings.search_k_max, "offset": settings.search_offset_max}
    for item in doc.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                parameter["schema"] = _not_null(parameter["schema"])
                _cap(parameter["name"], parameter["schema"], maxima)
            for name, media in operation.get("requestBody", {}).get("content", {}).items():
                _bound_fields(doc, media["schema"], maxima, form="form" in name)
            for response in operation.get("responses", {}).values():
                _errors_as_json(response)
            if not settings.api_keys and any(API_KEY_SCHEME in r for r in operation.get("security", [])):
                operation["security"] = [{}, *operation["security"]]  # the key may be sent, none is needed
    _drop_unused(doc, ("HTTPValidationError", "ValidationError"))
    return doc


def _bound_fields(doc: Document, schema: Document, maxima: dict[str, int], *, form: bool) -> None:
    """Cap `k` and `offset` in a body schema (and the schemas it is made of); a form's fields lose their null."""
    for part in (schema, *schema.get("allOf", [])):
        target = _resolve(doc, part)
        for name, field in target.get("properties", {}).items():
            if form:
                target["properties"][name] = field = _not_null(field)
            _cap(name, field, maxima)


def _errors_as_json(response: Document) -> None:
    """A `Problem` is always answered as JSON, whatever the operation's own media type."""
    content = response.get("content", {})
    for media_type, media in list(content.items()):
        if media_type != "application/json" and media.get("schema", {}).get("$ref", "").endswith("/Problem"):
            content["application/json"] = content.pop(media_type)


def _cap(name: str, schema: Document, maxima: dict[str, int]) -> None:
    if name not in maxima:
        return
    for option in schema.get("anyOf", [schema]):
        if option.get("type") == "integer" and "maximum" not in option:
            option["maximum"] = maxima[name]


def _not_null(schema: Document) -> Document:
    """`schema` without its null alternative: a query parameter or form field is absent or a value."""
    options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
    if "anyOf" not in schema or len(options) != 1:
        return schema
    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    return {**options[0], **rest}


def _resolve(doc: Document, schema: Document) -> Document:
    ref: str | None = schema.get("$ref")
    if ref is None:
        return schema
    found: Document = doc
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    return found


def _drop_unused(doc: Document, names: tuple[str, ...]) -> None:
    """Remove the component schemas `names` when no operation refers to them any more."""
    schemas = doc.get("components", {}).get("schemas", {})
    text = repr({key: value for key, value in doc.items() if key != "components"})
    for name in names:
        if f"#/components/schemas/{name}'" not in text and name in schemas:
            if not any(f"#/components/schemas/{name}'" in repr(s) for n, s in schemas.items() if n not in names):
                del schemas[name]

