"""Night Owl (or any server) in its own process, for the crash test and the benchmarks:
a free port, a config, a process that is always reaped, and a deadline on readiness."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def night_owl_config(port: int, db: Path | str, level: str = "WARNING", more: str = "") -> str:
    """A config for a Night Owl on 127.0.0.1:``port`` and ``db``, its own SQLite file or
    a database URL; ``more`` is further TOML (channels, queues, timers)."""
    url = db if isinstance(db, str) else f"sqlite+aiosqlite:///{db}"
    return f"""
[server]
host = "127.0.0.1"
port = {port}
public_url = "http://127.0.0.1:{port}"

[database]
url = "{url}"

[log]
level = "{level}"
{more}"""


def serve_args(config: Path) -> list[str]:
    """The arguments (after the interpreter) that run ``nightowl serve`` on ``config``."""
    return ["-m", "bot.cli", "serve", "--config", str(config)]


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """``python ARGS`` from the repo, output appended to ``log``; the caller's own
    NIGHTOWL_* settings are not passed on, so only the config file counts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIGHTOWL_")}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@contextmanager
def child(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A server process that is stopped (SIGTERM, then SIGKILL) on the way out."""
    proc = start(args, log)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def tail(log: Path, chars: int = 4000) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-chars:]


async def wait_ready(
    proc: subprocess.Popen[bytes],
    probe: Callable[[], Awaitable[httpx.Response]],
    log: Path,
    timeout: float = STARTUP_SECONDS,
) -> None:
    """Poll ``probe`` until it answers 200; RuntimeError (with the log's tail) if the
    process exits first or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}:\n{tail(log)}")
        try:
            if (await probe()).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not ready within {timeout}s:\n{tail(log)}")
        await asyncio.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
