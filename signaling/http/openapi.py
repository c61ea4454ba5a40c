"""GET /api/openapi.json, generated from the route declarations so it cannot drift."""

from __future__ import annotations

from typing import Any

from signaling.http.api import MAX_ID, Api, ApiRequest, api, dataclass_schema
from signaling.http.schemas import COMPONENTS, OPENAPI_DOCUMENT

ERROR_MEANINGS = {
    400: "invalid_payload: a parameter or the body is malformed (details.field names it)",
    401: "unauthenticated / token_expired: no, bad, expired or revoked token",
    403: "forbidden (this role may not), origin_not_allowed (browser origin not configured), "
    "or url_not_allowed (a webhook URL this server may not send to; the message says why)",
    404: "not_found: no such record, or one you may not see",
    409: "conflict: the record's state forbids it",
    413: "payload_too_large",
    415: "unsupported_media_type: not a PNG, JPEG, GIF, WebP, MP4, WebM or QuickTime file",
    416: "range_not_satisfiable: the Range starts past the end of the file",
    422: "unprocessable: well-formed but unusable as it is (the message says what to change)",
    421: "host_not_allowed: the Host header does not name this server (server.allowed_hosts)",
    429: "rate_limited: details.retry_after seconds (also the Retry-After header)",
    503: "degraded: a component is not ok (same body as 200)",
}


def build_openapi(registry: Api) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for ep in registry.endpoints:
        operation: dict[str, Any] = {
            "summary": ep.summary,
            "tags": [ep.tag],
            "operationId": ep.handler.__name__,
        }
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            }
            for name in ep.path_params
        ]
        if ep.query is not None:
            schema = dataclass_schema(ep.query)
            for name, prop in schema["properties"].items():
                params.append(
                    {
                        "name": name,
                        "in": "query",
                        "required": name in schema.get("required", []),
                        "schema": prop,
                    }
                )
        if params:
            operation["parameters"] = params
        if ep.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": dataclass_schema(ep.body)}},
            }
        if ep.multipart is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"multipart/form-data": {"schema": ep.multipart}},
            }
        if ep.roles is None:
            operation["security"] = []
            operation["description"] = "Public: no token needed."
        else:
            operation["description"] = "Roles: " + ", ".join(sorted(r.value for r in ep.roles))
        operation["responses"] = {
            str(ep.status): {
                "description": "Success",
                "content": {media: {"schema": ep.response} for media in ep.response_media},
            }
        }
        for status in ep.error_statuses:
            schema = ep.response if status == 503 else {"$ref": "#/components/schemas/Error"}
            operation["responses"][str(status)] = {
                "description": ERROR_MEANINGS[status],
                "content": {"application/json": {"schema": schema}},
            }
        paths.setdefault(ep.path, {})[ep.method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "LiveAssist REST API",
            "version": "1",
            "description": "Authenticate with `Authorization: Bearer <token>` from /api/auth/login "
            '(staff) or /api/widget/session (customers). Errors are {"error": {code, message}}; '
            "codes are listed in docs/protocol.md.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "schemas": COMPONENTS,
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


@api.route(
    "GET",
    "/api/openapi.json",
    summary="This document",
    roles=None,
    tag="meta",
    response=OPENAPI_DOCUMENT,
)
async def openapi(call: ApiRequest) -> dict[str, Any]:
    return build_openapi(api)
