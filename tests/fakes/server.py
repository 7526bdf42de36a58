"""Run ASGI apps in-process on 127.0.0.1 for tests, and wait on state changes with deadlines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import ASGIApp


@asynccontextmanager
async def serve_app(
    app: ASGIApp,
    *,
    startup_timeout: float = 10.0,
    graceful_shutdown_timeout: int = 5,
) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free port in the running loop; yield its base URL.

    ``graceful_shutdown_timeout`` bounds how long exit waits for in-flight requests (e.g. a
    long-poll ``getUpdates`` nobody stopped) before uvicorn cancels them.
    """
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_config=None,
        access_log=False,
        lifespan="auto",
        timeout_graceful_shutdown=graceful_shutdown_timeout,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(_serve(server), name="uvicorn-test-server")
    try:
        async with asyncio.timeout(startup_timeout):
            await _wait_started(server, task)
    except BaseException:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _serve(server: uvicorn.Server) -> None:
    # uvicorn calls sys.exit() when startup fails (e.g. the app's lifespan raised); a
    # SystemExit escaping a task would tear down the event loop and the whole test run.
    try:
        await server.serve()
    except SystemExit as exc:
        raise RuntimeError(f"uvicorn failed to start (exit code {exc.code})") from exc


async def _wait_started(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    """Poll ``server.started``: uvicorn exposes no event for it. The caller sets the deadline."""
    while not server.started:
        if task.done():
            task.result()  # re-raises the startup failure, if any
            raise RuntimeError("uvicorn server stopped before it started")
        await asyncio.sleep(0.005)


class ChangeSignal:
    """Wakes every current waiter whenever the owner's state changes.

    Each ``notify`` sets the current Event and swaps in a fresh one, so waiters never race
    each other over ``clear()``; they simply re-check their own condition after waking.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` holds; callers bound the wait with ``asyncio.timeout``."""
        while not predicate():
            await self._event.wait()
