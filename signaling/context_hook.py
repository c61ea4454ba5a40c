"""Customer context for the agent's side panel from a configured CRM/order URL, with a
timeout and a cache; a slow or broken CRM never blocks the console."""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from typing import Any

import aiohttp

from signaling.config import ContextHookConfig

MAX_CACHED = 10_000
MAX_RESPONSE_BYTES = 256 * 1024


class CustomerContext:
    def __init__(self, config: ContextHookConfig) -> None:
        self._config = config
        self._cache: OrderedDict[int, tuple[float, dict[str, Any]]] = OrderedDict()
        self._session: aiohttp.ClientSession | None = None

    @property
    def enabled(self) -> bool:
        return bool(self._config.url)

    async def fetch(self, customer: dict[str, Any]) -> dict[str, Any]:
        """{"data": ..., "error": None, "cached": bool} — error is a sentence when it failed."""
        if not self.enabled:
            return {"data": None, "error": None, "cached": False, "configured": False}
        now = time.monotonic()
        hit = self._cache.get(customer["id"])
        if hit is not None and hit[0] > now:
            return {"data": hit[1], "error": None, "cached": True, "configured": True}
        params = {"customer_id": str(customer["id"])}
        for key in ("external_id", "email"):
            if customer.get(key):
                params[key] = str(customer[key])
        try:
            data = await self._get(params)
        except TimeoutError:
            return {
                "data": None,
                "error": f"the CRM did not answer within {self._config.timeout_seconds} s",
                "cached": False,
                "configured": True,
            }
        except (aiohttp.ClientError, ValueError) as exc:
            return {
                "data": None,
                "error": f"the CRM lookup failed: {exc}",
                "cached": False,
                "configured": True,
            }
        self._cache[customer["id"]] = (now + self._config.cache_seconds, data)
        self._cache.move_to_end(customer["id"])
        while len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)
        return {"data": data, "error": None, "cached": False, "configured": True}

    async def _get(self, params: dict[str, str]) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=self._config.timeout_seconds)
        async with asyncio.timeout(self._config.timeout_seconds):
            async with self._session.get(self._config.url, params=params, timeout=timeout) as resp:
                if resp.status != 200:
                    raise ValueError(f"HTTP {resp.status}")
                body = await resp.content.read(MAX_RESPONSE_BYTES + 1)
                if len(body) > MAX_RESPONSE_BYTES:
                    raise ValueError("response too large")
                data = json.loads(body)
                if not isinstance(data, dict):
                    raise ValueError("response is not a JSON object")
                return data

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
