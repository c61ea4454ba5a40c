"""The OpenAPI document covers every REST route the server answers."""

from __future__ import annotations

from signaling.http.api import api
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
            "schema": {"type": "integer", "minimum": 1},
        }
    finally:
        await agent.close()


async def test_every_documented_list_route_answers_an_admin(server: Server) -> None:
    admin = await server.staff("admin@demo.local")
    try:
        doc = await admin.rest("GET", "/api/openapi.json")
        for path, ops in doc["paths"].items():
            if "get" in ops and "{" not in path and path.startswith("/api/"):
                required = [p for p in ops["get"].get("parameters", []) if p["required"]]
                query = "?org=demo" if required else ""
                await admin.rest("GET", path + query)  # raises unless HTTP 200
    finally:
        await admin.close()
