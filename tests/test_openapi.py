"""The OpenAPI document covers every REST route the server answers."""

from __future__ import annotations

from typing import Any

from signaling.http.api import api
from signaling.http.openapi import build_openapi
from tests.conftest import Server


async def test_openapi_lists_every_route_with_its_roles_and_schemas(server: Server) -> None:
    agent = await server.staff("agent1@demo.local", online=False)
    try:
        doc = await agent.rest("GET", "/api/openapi.json")
        assert doc["openapi"].startswith("3.")
        declared = {(ep.method.lower(), ep.path) for ep in api.endpoints}
        documented = {(method, path) for path, ops in doc["paths"].items() for method in ops}
        assert declared == documented and len(declared) >= 25
        login = doc["paths"]["/api/auth/login"]["post"]
        assert login["security"] == [] and login["requestBody"]["content"]["application/json"][
            "schema"
        ]["required"] == ["email", "password"]
        tickets = doc["paths"]["/api/tickets"]["get"]
        status = next(p for p in tickets["parameters"] if p["name"] == "status")
        assert status["schema"]["enum"] == ["open", "pending", "solved", "closed"]
        assert "agent" in tickets["description"]
        patch = doc["paths"]["/api/tickets/{ticket_id}"]["patch"]
        assert patch["parameters"][0] == {
            "name": "ticket_id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        }
    finally:
        await agent.close()


# What a required query parameter is given (an organisation; a search's question).
REQUIRED_VALUES = {"org": "demo", "q": "password"}


async def test_every_documented_list_route_answers_an_admin(server: Server) -> None:
    admin = await server.staff("admin@demo.local")
    try:
        doc = await admin.rest("GET", "/api/openapi.json")
        for path, ops in doc["paths"].items():
            if "get" in ops and "{" not in path and path.startswith("/api/"):
                required = [p for p in ops["get"].get("parameters", []) if p["required"]]
                values = [f"{p['name']}={REQUIRED_VALUES[p['name']]}" for p in required]
                query = "?" + "&".join(values) if values else ""
                if "application/json" in ops["get"]["responses"]["200"]["content"]:
                    await admin.rest("GET", path + query)  # raises unless HTTP 200
                    continue
                url = server.url + path + query  # CSV and the like
                async with admin.http.get(url, headers=admin.headers()) as resp:
                    assert resp.status == 200, path
    finally:
        await admin.close()


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_every_answer_has_a_real_schema_and_its_errors() -> None:
    """A bare {"type": "object"} let any answer conform; now each success names its fields,
    and each operation lists the error statuses it may answer (with the Error schema)."""
    doc = build_openapi(api)
    components = doc["components"]["schemas"]
    assert {f"#/components/schemas/{name}" for name in components} >= set(_refs(doc))
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            statuses = set(op["responses"])
            success = next(s for s in statuses if s.startswith("2"))
            for media, content in op["responses"][success]["content"].items():
                schema = content["schema"]
                if media == "application/json":
                    assert "$ref" in schema or "properties" in schema, where
                    if "properties" in schema:
                        assert schema["required"] and "additionalProperties" in schema, where
            assert "default" not in statuses and "403" in statuses, where
            if "{" in path:
                assert {"400", "404"} <= statuses, where
            if op.get("security") != []:
                assert {"401", "403"} <= statuses, where
            for status in statuses - {success, "503"}:
                assert op["responses"][status]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }, where
    login = doc["paths"]["/api/auth/login"]["post"]["responses"]
    assert {"200", "400", "401", "413", "429"} <= set(login)
    upload = doc["paths"]["/api/chats/{chat_id}/attachments"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"409", "413", "415", "429"} <= set(upload["responses"])
    download = doc["paths"]["/api/attachments/{attachment_id}"]["get"]["responses"]["200"]
    assert "image/png" in download["content"] and "application/json" not in download["content"]
    assert components["Chat"]["additionalProperties"] is False
    assert (
        "host_not_allowed"
        in components["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    )
