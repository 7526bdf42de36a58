"""The ``nightowl`` command: serve, check-config, db upgrade."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import uvicorn
import uvloop

from bot import logs
from bot.app import create_app
from bot.config import ConfigError, Settings, load_settings
from bot.service import Service
from bot.store.engine import Store
from bot.store.migrate import upgrade
from content import cli as content_cli

EXIT_BAD_CONFIG = 2


def _with_config(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="TOML config file (default: ./config.toml if present)",
    )
    return parser


async def _upgrade(settings: Settings) -> None:
    store = Store(settings.database.url, settings.database.busy_timeout_ms)
    try:
        await upgrade(store)
    finally:
        await store.close()


async def _serve(settings: Settings) -> None:
    await _upgrade(settings)
    app = create_app(settings, Service(settings))
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.server.host,
            port=settings.server.port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
    )
    await server.serve()


def serve(settings: Settings) -> int:
    logs.configure(settings.log.level, settings.log.json_lines)
    print(f"Night Owl on http://{settings.server.host}:{settings.server.port}", file=sys.stderr)
    for channel, status in settings.channel_status().items():
        print(f"  {channel}: {status}", file=sys.stderr)
    uvloop.run(_serve(settings))  # libuv's loop: cheaper wake-ups for every database call
    return 0


def check_config(settings: Settings) -> int:
    print(json.dumps(settings.masked(), indent=2))
    for channel, status in settings.channel_status().items():
        print(f"{channel}: {status}", file=sys.stderr)
    return 0


def db_upgrade(settings: Settings) -> int:
    asyncio.run(_upgrade(settings))
    print("database is up to date", file=sys.stderr)
    return 0


def _local_url() -> str | None:
    """The running service's own address, for ``content reload`` without --url."""
    try:
        server = load_settings(None).server
    except ConfigError:
        return None
    host = "127.0.0.1" if server.host in ("0.0.0.0", "::") else server.host
    return f"http://{host}:{server.port}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nightowl", description="Night Owl peer-support gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    _with_config(sub.add_parser("serve", help="run the service")).set_defaults(run=serve)
    _with_config(
        sub.add_parser("check-config", help="print the effective config, secrets masked")
    ).set_defaults(run=check_config)
    db = sub.add_parser("db", help="database tasks").add_subparsers(
        dest="db_command", required=True
    )
    _with_config(db.add_parser("upgrade", help="apply migrations")).set_defaults(run=db_upgrade)
    content_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "content":  # content commands work on files, not the config
        if getattr(args, "url", "set") is None:
            args.url = _local_url()
        code: int = args.func(args)
        return code
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_CONFIG
    result: int = args.run(settings)
    return result


if __name__ == "__main__":
    sys.exit(main())
