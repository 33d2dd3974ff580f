"""Abuse limits: per-client rate limits, and a bound on the match previews running at once.

The counts are kept by the `limits` library (moving windows, in this process's memory): with
N API processes a client gets up to N times each limit, and a restart forgets them (README,
"Rate limits"). The client address is the one uvicorn reports: behind a reverse proxy, that is
the forwarded address only with `--proxy-headers` and `FORWARDED_ALLOW_IPS` naming the proxy.
"""

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Form, Request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from app.config import Settings, get_settings
from app.deps import oauth2_scheme
from app.errors import InvalidCredentials, TooManyRequests
from app.schemas.auth import SignInForm
from app.schemas.common import half_width
from app.security import read_access_token

# Longer names cannot be anyone's; the key need not keep them whole.
MAX_KEY_CHARS = 100


@dataclass(frozen=True)
class Rule:
    """One setting's limits (`5/minute;50/hour` is two items) and what a refusal says."""

    name: str
    items: tuple[RateLimitItem, ...]
    detail: str


class PreviewSlots:
    """At most `size` previews at once in this process; a caller waits up to `wait` seconds.

    The waiting is on the event loop, so a queued preview holds no worker thread and no
    database connection (the guard runs before the route's other dependencies).
    """

    def __init__(self, size: int, wait: float) -> None:
        self.size = size
        self.wait = wait
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore: asyncio.Semaphore | None = None

    def _busy(self) -> TooManyRequests:
        return TooManyRequests(
            "匹配预览繁忙，请稍后重试",
            code="preview_busy",
            retry_after=max(1, math.ceil(self.wait)),
        )

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the slots for the block; 429 `preview_busy` when none frees in time."""
        if self.size == 0:
            yield
            return
        # One semaphore per event loop: uvicorn runs one; each test client starts its own.
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._loop, self._semaphore = loop, asyncio.Semaphore(self.size)
        semaphore = self._semaphore
        if semaphore.locked() and self.wait == 0:
            raise self._busy()
        try:
            async with asyncio.timeout(self.wait):
                await semaphore.acquire()
        except TimeoutError:
            raise self._busy() from None
        try:
            yield
        finally:
            semaphore.release()


class AbuseLimits:
    """The process's rate limiter, the rules read from settings, and the preview slots."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limits
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        sign_in = "登录失败次数过多，请 {seconds} 秒后再试"
        self.sign_in_address = _rule("signin-address", settings.rate_limit_signin_address, sign_in)
        self.sign_in_username = _rule(
            "signin-username", settings.rate_limit_signin_username, sign_in
        )
        self.register = _rule(
            "register", settings.rate_limit_register, "注册尝试过于频繁，请 {seconds} 秒后再试"
        )
        self.preview = _rule(
            "preview", settings.rate_limit_preview, "匹配预览过于频繁，请 {seconds} 秒后再试"
        )
        self.preview_slots = PreviewSlots(
            settings.preview_concurrency, settings.preview_wait_seconds
        )

    def check(self, rule: Rule, key: str) -> None:
        """429 if `key` has used up the rule already; counts nothing."""
        if not self.enabled:
            return
        for item in rule.items:
            if not self._limiter.test(item, rule.name, key):
                raise self._refusal(rule, item, key)

    def hit(self, rule: Rule, key: str) -> None:
        """Count one use by `key`; 429 (and not counted) if that would pass the rule."""
        if not self.enabled:
            return
        for item in rule.items:
            if not self._limiter.hit(item, rule.name, key):
                raise self._refusal(rule, item, key)

    def count(self, rule: Rule, key: str) -> None:
        """Count one use by `key` that has already been answered (a failed sign-in)."""
        if not self.enabled:
            return
        for item in rule.items:
            self._limiter.hit(item, rule.name, key)

    def _refusal(self, rule: Rule, item: RateLimitItem, key: str) -> TooManyRequests:
        reset = self._limiter.get_window_stats(item, rule.name, key).reset_time
        seconds = max(1, math.ceil(reset - time.time()))
        return TooManyRequests(rule.detail.format(seconds=seconds), retry_after=seconds)


def _rule(name: str, setting: str, detail: str) -> Rule:
    return Rule(name, tuple(parse_many(setting)), detail)


@lru_cache
def get_abuse_limits() -> AbuseLimits:
    """This process's limits, built from the settings on first use."""
    return AbuseLimits(get_settings())


def reset_abuse_limits() -> None:
    """Forget every count and slot (tests; and after a change of settings)."""
    get_abuse_limits.cache_clear()


def client_address(request: Request) -> str:
    """The address uvicorn reports (the forwarded one only behind a trusted proxy)."""
    return request.client.host if request.client else "unknown"


def username_key(username: str) -> str:
    """The name as sign-in looks it up, so `Zhang` and `ｚｈａｎｇ ` share one count."""
    return half_width(username).strip().lower()[:MAX_KEY_CHARS]


async def _sign_in_guard(
    request: Request, form: Annotated[SignInForm, Form()]
) -> AsyncIterator[None]:
    """Refuse before the password hash is computed; count only the sign-ins that fail."""
    limits = get_abuse_limits()
    keys = (
        (limits.sign_in_address, client_address(request)),
        (limits.sign_in_username, username_key(form.username)),
    )
    for rule, key in keys:
        limits.check(rule, key)
    try:
        yield
    except InvalidCredentials:
        for rule, key in keys:
            limits.count(rule, key)
        raise


async def _registration_guard(request: Request) -> None:
    """Every registration attempt counts: a 409 tells whether a username exists."""
    limits = get_abuse_limits()
    limits.hit(limits.register, client_address(request))


async def _preview_guard(
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> AsyncIterator[None]:
    """Per-user count, then a preview slot; a refusal costs no thread and no database work.

    The user is the one the token's signature vouches for; the route still checks the user
    exists and is active (no token, or a bad one: the route answers 401).
    """
    limits = get_abuse_limits()
    user_id = read_access_token(token) if token else None
    key = str(user_id) if user_id is not None else None
    if key is not None:
        limits.check(limits.preview, key)
    async with limits.preview_slots.slot():
        if key is not None:
            limits.hit(limits.preview, key)
        yield


# For a route's `dependencies=[...]`; "function" scope: the code after `yield` runs when the
# route returns (it sees the route's exception), before the response is sent.
SIGN_IN_LIMIT = Depends(_sign_in_guard, scope="function")
REGISTRATION_LIMIT = Depends(_registration_guard)
PREVIEW_LIMIT = Depends(_preview_guard, scope="function")
