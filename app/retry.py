"""Run a request again when its transaction lost a deadlock or a serialisation conflict.

PostgreSQL aborts one of two transactions that wait for each other (40P01), or one that cannot
be serialised (40001); run again from the start, it usually succeeds. Only the whole request
can be run again: the session, the rows it read and the checks made on them all belong to
the first attempt. So this middleware keeps the request body, and when the error handler
marks the answer as retryable (`mark_retryable`), discards that answer and replays the
request to the app with a fresh scope: a new session and a new transaction. The third run's
answer goes out as it is (a 503 with Retry-After when it failed too).

Sits inside the body-size limit, so the body it keeps is at most that limit.
"""

import logging
from collections.abc import MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

FLAG = "retry_transaction"


def mark_retryable(scope: MutableMapping[str, Any]) -> None:
    """Ask the middleware to run this request once more (the answer so far is discarded)."""
    scope.setdefault("state", {})[FLAG] = True


ATTEMPTS = 3  # the first run and two replays


class RetryTransactionMiddleware:
    """Replays a request (at most twice) when its answer was marked retryable; logs the outcome."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, complete = await _read_body(receive)
        if not complete:  # the client left while sending: nothing to replay
            await self.app(scope, replay(body, receive), send)
            return
        state = scope.get("state", {})
        where = f"{scope['method']} {scope['path']}"
        for attempt in range(1, ATTEMPTS + 1):
            run = {**scope, "state": dict(state)}
            if attempt == ATTEMPTS:  # the last run's answer goes out, whatever it is
                await self.app(run, replay(body, receive), send)
                if run["state"].get(FLAG):
                    logger.warning("deadlock or serialisation failure again on %s: 503", where)
                else:
                    logger.info("%s succeeded when run again", where)
                return
            if not await self._run(run, replay(body, receive), send):
                if attempt > 1:
                    logger.info("%s succeeded when run again", where)
                return
            logger.warning("deadlock or serialisation failure on %s: running it again", where)

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Runs the app once; True when its answer was marked retryable (and was not sent)."""
        discarded = False

        async def send_unless_retrying(message: Message) -> None:
            nonlocal discarded
            if message["type"] == "http.response.start" and scope["state"].get(FLAG):
                discarded = True
            if not discarded:
                await send(message)

        await self.app(scope, receive, send_unless_retrying)
        return discarded


async def _read_body(receive: Receive) -> tuple[list[Message], bool]:
    """Every body message of the request, and whether the body arrived whole."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, False
        if not message.get("more_body", False):
            return messages, True


def replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that gives the kept body messages again, then waits on the real one (also for
    the body limit in app.middleware, which reads a chunked body before the app does)."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
