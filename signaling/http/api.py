"""REST routes declared once: method, path, roles, body and query types. The same
declarations authorise each request, parse its input, and generate /api/openapi.json."""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from aiohttp import web

from signaling import jsonutil
from signaling.auth.access import require_role
from signaling.auth.actor import Actor
from signaling.auth.tokens import Principal
from signaling.errors import InvalidPayload, PayloadTooLarge, Unauthenticated
from signaling.types import Role
from signaling.wire import BLANK, limit, parse

if TYPE_CHECKING:
    from signaling.runtime import Runtime

MAX_JSON_BODY = 64 * 1024
# Record ids fit PostgreSQL's integer columns; a larger one is refused as input (it answered
# 500: SQLite and asyncpg cannot bind it), and the documents say so.
MAX_ID = 2**31 - 1
ID = limit(min=1, max=MAX_ID)
WIRE_DEFAULT_MAX_LEN = 1000  # signaling.wire.parse's limit for strings without max_len


@dataclass
class ApiRequest:
    request: web.Request
    runtime: Runtime
    principal: Principal | None
    body: Any
    query: Any

    @property
    def me(self) -> Principal:
        if self.principal is None:  # pragma: no cover - public routes do not call this
            raise Unauthenticated("sign in first")
        return self.principal

    def path_id(self, name: str) -> int:
        raw = self.request.match_info[name]
        if not raw.isdigit() or len(raw) > 10 or not 1 <= int(raw) <= MAX_ID:
            raise InvalidPayload(f"{name} must be an integer from 1 to {MAX_ID}")
        return int(raw)

    @property
    def ip(self) -> str:
        return self.request.remote or "unknown"

    @property
    def actor(self) -> Actor:
        """The signed-in caller and their address, as the services take them."""
        return Actor(self.me, self.ip)


Handler = Callable[[ApiRequest], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    roles: frozenset[Role] | None  # None: public (no token needed)
    body: type[Any] | None
    query: type[Any] | None
    tag: str
    status: int
    response: dict[str, Any]  # JSON Schema of the success answer (signaling.http.schemas)
    response_media: tuple[str, ...] = ("application/json",)
    errors: frozenset[int] = frozenset()  # statuses beyond those the declaration implies
    multipart: dict[str, Any] | None = None  # schema of a multipart/form-data body
    any_host: bool = False  # answered whatever the Host header says (health probes)

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    @property
    def error_statuses(self) -> list[int]:
        """Every error status this route may answer, from what it declares: 400 for input,
        401/403 for roles, 404 for ids, 413 for bodies, 403 for foreign origins and 421 for
        foreign hosts everywhere, plus its own `errors`."""
        found = {403} | set(self.errors)
        if not self.any_host:
            found.add(421)
        if self.path_params or self.query or self.body or self.multipart:
            found.add(400)
        if self.roles is not None:
            found |= {401, 403}
        if self.path_params:
            found.add(404)
        if self.body or self.multipart:
            found.add(413)
        return sorted(found)


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=jsonutil.dumps)


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def _query_values(kind: type[Any], request: web.Request) -> dict[str, Any]:
    """Query strings are text: convert each to its declared type before validation."""
    hints = typing.get_type_hints(kind)
    values: dict[str, Any] = {}
    for key, raw in request.query.items():
        declared = hints.get(key)
        if declared is None:
            values[key] = raw  # parse() rejects it by name
            continue
        base = next((a for a in typing.get_args(declared) if a is not type(None)), declared)
        if base is int:
            if not raw.lstrip("-").isdigit() or len(raw) > 10:
                raise InvalidPayload(f"{key} must be an integer", details={"field": key})
            values[key] = int(raw)
        elif base is float:
            try:
                values[key] = float(raw) if len(raw) <= 32 else math.inf
            except ValueError:
                raise InvalidPayload(f"{key} must be a number", details={"field": key}) from None
        elif base is bool:
            if raw not in ("true", "false"):
                raise InvalidPayload(f"{key} must be true or false", details={"field": key})
            values[key] = raw == "true"
        else:
            values[key] = raw
    return values


class Api:
    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        roles: tuple[Role, ...] | None,
        body: type[Any] | None = None,
        query: type[Any] | None = None,
        tag: str,
        response: dict[str, Any],
        status: int = 200,
        response_media: tuple[str, ...] = ("application/json",),
        errors: tuple[int, ...] = (),
        multipart: dict[str, Any] | None = None,
        any_host: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Declare a route. `response` (required, so no route can skip it) is the JSON Schema
        of its success answer; `errors` adds statuses the declaration does not imply
        (see Endpoint.error_statuses)."""

        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method,
                    path,
                    handler,
                    summary,
                    frozenset(roles) if roles is not None else None,
                    body,
                    query,
                    tag,
                    status,
                    response,
                    response_media,
                    frozenset(errors),
                    multipart,
                    any_host,
                )
            )
            return handler

        return register

    def install(self, app: web.Application, runtime: Runtime) -> None:
        for endpoint in self.endpoints:
            app.router.add_route(endpoint.method, endpoint.path, self._wrap(endpoint, runtime))

    def _wrap(
        self, endpoint: Endpoint, runtime: Runtime
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            principal = None
            if endpoint.roles is not None:
                principal = await runtime.authenticator.principal(bearer_token(request))
                if principal.role not in endpoint.roles:
                    require_role(principal, *sorted(endpoint.roles))
            body = None
            if endpoint.body is not None:
                if request.content_length is not None and request.content_length > MAX_JSON_BODY:
                    raise PayloadTooLarge(f"request body over {MAX_JSON_BODY} bytes")
                raw = await request.content.read(MAX_JSON_BODY + 1)
                if len(raw) > MAX_JSON_BODY:
                    raise PayloadTooLarge(f"request body over {MAX_JSON_BODY} bytes")
                try:
                    decoded = jsonutil.loads(raw or b"{}")
                except ValueError as exc:
                    raise InvalidPayload(f"request body is not valid JSON: {exc}") from None
                body = parse(endpoint.body, decoded)
            query = (
                parse(endpoint.query, _query_values(endpoint.query, request))
                if endpoint.query
                else None
            )
            result = await endpoint.handler(ApiRequest(request, runtime, principal, body, query))
            if isinstance(result, web.StreamResponse):
                return result
            return json_response(result, status=endpoint.status)

        return handle


api = Api()


def dataclass_schema(kind: type[Any]) -> dict[str, Any]:
    """JSON Schema of a wire dataclass (for the OpenAPI document)."""
    hints = typing.get_type_hints(kind)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for spec in dataclasses.fields(kind):
        properties[spec.name] = _type_schema(hints[spec.name], spec.metadata)
        if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            required.append(spec.name)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    schema.update(getattr(kind, "SCHEMA_RULES", {}))  # rules across fields the handler checks
    return schema


def _type_schema(kind: Any, meta: typing.Mapping[str, Any]) -> dict[str, Any]:
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return {**_type_schema(args[0], meta), "nullable": True}
    if typing.get_origin(kind) is list:
        return {
            "type": "array",
            "items": _type_schema(args[0], {**meta, "max_items": None, "min_items": None}),
            **({"maxItems": meta["max_items"]} if meta.get("max_items") else {}),
            **({"minItems": meta["min_items"]} if meta.get("min_items") else {}),
        }
    if typing.get_origin(kind) is dict:
        shape = meta.get("shape")  # a dict parsed later as this dataclass (nested objects)
        if shape is not None:
            return dataclass_schema(shape)
        # rules on a free-form object the handler checks itself (what its values may be)
        return {"type": "object", **meta.get("schema", {})}
    if isinstance(kind, type) and issubclass(kind, Enum):
        return {"type": "string", "enum": [m.value for m in kind]}
    schema: dict[str, Any] = {
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        float: {"type": "number"},
        str: {"type": "string"},
    }.get(kind, {})
    schema = dict(schema)
    if kind is str:
        schema.update(_string_rules(meta))
    if "min" in meta:
        schema["minimum"] = meta["min"]
    if "max" in meta:
        schema["maximum"] = meta["max"]
    return schema


def _string_rules(meta: typing.Mapping[str, Any]) -> dict[str, Any]:
    """The string checks of signaling.wire.parse in JSON Schema terms: its default length
    limit, its whole-value pattern match (JSON Schema patterns match anywhere unless
    anchored), and min_len, which it counts after trimming spaces."""
    rules: dict[str, Any] = {"maxLength": meta.get("max_len", WIRE_DEFAULT_MAX_LEN)}
    min_len = meta.get("min_len")
    if min_len:
        rules["minLength"] = min_len
    if meta.get("pattern"):
        rules["pattern"] = f"^(?:{meta['pattern']})$"
    elif min_len:
        gap = min_len - 2
        text = f"[^{BLANK}]"
        rules["pattern"] = (
            text if min_len == 1 else rf"^[{BLANK}]*{text}[\s\S]{{{gap},}}{text}[{BLANK}]*$"
        )
    rules.update(meta.get("schema", {}))  # a rule the handler checks itself (passwords)
    return rules
