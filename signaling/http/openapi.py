"""GET /api/openapi.json, generated from the route declarations so it cannot drift."""

from __future__ import annotations

import re
from typing import Any

from signaling.http.api import Api, ApiRequest, api, dataclass_schema

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
            "required": ["code", "message"],
        }
    },
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
                "schema": {"type": "integer", "minimum": 1},
            }
            for name in re.findall(r"{(\w+)}", ep.path)
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
        if ep.roles is None:
            operation["security"] = []
            operation["description"] = "Public: no token needed."
        else:
            operation["description"] = "Roles: " + ", ".join(sorted(r.value for r in ep.roles))
        operation["responses"] = {
            str(ep.status): {
                "description": "Success",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "default": {
                "description": "Error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
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
            "schemas": {"Error": ERROR_SCHEMA},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


@api.route("GET", "/api/openapi.json", summary="This document", roles=None, tag="meta")
async def openapi(call: ApiRequest) -> dict[str, Any]:
    return build_openapi(api)
