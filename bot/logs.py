"""Structured logs that carry ids, never people.

Log calls pass only ids, counts, codes and durations in ``extra``. Exceptions are
logged as their type and the frames they passed through, never their message, because
a library's message can quote the data it choked on (a phone number, a text).
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from typing import Any

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}

# Libraries that log URLs (with the bot token in them), request bodies or SQL parameters.
_QUIET = (
    "httpx",
    "httpcore",
    "telegram",
    "twilio",
    "aiohttp",
    "aiosqlite",
    "asyncio",
    "apscheduler",
    "uvicorn.access",
)


def quiet_libraries() -> None:
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def _exception_fields(record: logging.LogRecord) -> dict[str, Any]:
    if not record.exc_info or record.exc_info[0] is None:
        return {}
    exc_type, _exc, tb = record.exc_info
    frames = [
        f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}:{f.name}" for f in traceback.extract_tb(tb)
    ]
    return {"error": exc_type.__name__, "frames": frames[-8:]}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        fields.update(_exception_fields(record))
        return json.dumps(fields, default=str)


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        extra.update(_exception_fields(record))
        tail = " ".join(f"{k}={v}" for k, v in extra.items())
        when = self.formatTime(record, "%H:%M:%S")
        return f"{when} {record.levelname:7} {record.name}: {record.getMessage()} {tail}".rstrip()


def configure(level: str = "INFO", json_lines: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else PlainFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_libraries()
