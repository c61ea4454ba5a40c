"""Administration over REST: an organisation always keeps an active admin."""

from __future__ import annotations

from tests.conftest import Server


async def test_the_last_active_admin_cannot_be_deactivated_or_demoted(server: Server) -> None:
    admin = await server.staff("admin@demo.local")
    me = admin.user["id"]
    try:
        for change in ({"active": False}, {"role": "agent"}, {"role": "qa", "active": False}):
            refused = await admin.rest("PATCH", f"/api/users/{me}", json=change, expect=409)
            assert refused["error"]["code"] == "conflict"
            assert "last active admin" in refused["error"]["message"]
        assert (await admin.rest("GET", "/api/me"))["user"]["role"] == "admin"  # still signed in
        # with a second admin, either may step down; then the other is the last one
        second = await admin.rest(
            "POST",
            "/api/users",
            expect=201,
            json={
                "email": "boss2@demo.local",
                "name": "Second Boss",
                "role": "admin",
                "password": "another-long-pass-2",
            },
        )
        demoted = await admin.rest("PATCH", f"/api/users/{second['id']}", json={"role": "agent"})
        assert demoted["role"] == "agent"
        promoted = await admin.rest("PATCH", f"/api/users/{second['id']}", json={"role": "admin"})
        assert promoted["role"] == "admin"
        await admin.rest("PATCH", f"/api/users/{me}", json={"active": False})
        server.passwords["boss2@demo.local"] = "another-long-pass-2"
        boss2 = await server.staff("boss2@demo.local")
        try:
            refused = await boss2.rest(
                "PATCH", f"/api/users/{second['id']}", json={"active": False}, expect=409
            )
            assert refused["error"]["code"] == "conflict"
            # other fields of the last admin still change; customers are not staff
            assert (await boss2.rest("PATCH", f"/api/users/{second['id']}", json={"name": "Boss"}))[
                "name"
            ] == "Boss"
            bad = await boss2.rest(
                "PATCH", f"/api/users/{second['id']}", json={"role": "customer"}, expect=400
            )
            assert bad["error"]["details"] == {"field": "role"}
        finally:
            await boss2.close()
    finally:
        await admin.close()
