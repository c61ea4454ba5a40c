"""Token buckets in Redis, shared by every signaling process (server.redis_url).

Each bucket is one hash (`tokens`, `updated`) refilled and spent by one Lua script, so two
processes hitting the same key at once cannot both spend its last token. Time is Redis's
own (`TIME` inside the script), not each process's: every process then refills against one
clock, and skew between signaling machines can neither mint tokens (a clock ahead) nor
freeze a bucket (a clock behind). Should Redis's clock step back, a refill is clamped at
zero. A key expires when its bucket would be full again, so idle keys (a flood of distinct
addresses) vanish by themselves instead of needing an LRU."""

from __future__ import annotations

from redis.asyncio import Redis

from signaling.ratelimit import limited

PREFIX = "liveassist:ratelimit:"

# KEYS[1]: the bucket. ARGV: rate (tokens/s), burst, cost, mode ("spend" | "check" |
# "penalize"). Answers the seconds to wait as a string ("0": admitted); a number would
# come back truncated to an integer.
BUCKET = """
if redis.replicate_commands then redis.replicate_commands() end
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local mode = ARGV[4]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens, updated = tonumber(state[1]), tonumber(state[2])
if tokens == nil or updated == nil then
  tokens, updated = burst, now
end
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
if mode == 'penalize' then
  tokens = math.max(-burst, tokens - cost)
elseif tokens < cost then
  return string.format('%.17g', (cost - tokens) / rate)
elseif mode == 'spend' then
  tokens = tokens - cost
else
  return '0'
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
  'updated', string.format('%.17g', now))
-- Gone when it would be full again: a missing key is a full bucket.
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((burst - tokens) / rate * 1000)))
return '0'
"""


class RedisBuckets:
    """The `Buckets` of one limit (`name`) in Redis; every process that builds the same
    name shares its budgets."""

    def __init__(self, redis: Redis, name: str, *, rate: float, burst: int, what: str) -> None:
        self._redis = redis
        self._script = redis.register_script(BUCKET)
        self._prefix = f"{PREFIX}{name}:"
        self.rate = rate
        self.burst = burst
        self.what = what

    async def hit(self, key: str, cost: float = 1.0) -> None:
        await self._run(key, cost, "spend")

    async def check(self, key: str) -> None:
        await self._run(key, 1.0, "check")

    async def penalize(self, key: str, cost: float) -> None:
        await self._run(key, cost, "penalize")

    async def forget(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def _run(self, key: str, cost: float, mode: str) -> None:
        answer = await self._script(
            keys=[self._prefix + key], args=[self.rate, self.burst, cost, mode]
        )
        retry_after = float(answer)
        if retry_after > 0:
            raise limited(self.what, retry_after)
