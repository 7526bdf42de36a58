"""``nightowl content ...``: import, check, reload and export the recovery network map.

``register(subparsers)`` adds the ``content`` command to the main argparse parser;
each sub-command's handler is stored as ``args.func`` and returns an exit code
(0 ok, 2 bad input). Every problem is printed as one line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

import httpx

from content.errors import ContentError
from content.html_map import render_map_html
from content.importer import import_meetings
from content.loader import DEFAULT_DATA_DIR, load_network
from content.meeting_types import Fellowship

OK = 0
BAD_INPUT = 2
RELOAD_PATH = "/admin/content/reload"


def run_import(
    source: Path, data_dir: Path, fellowship: str | None = None, out: TextIO | None = None
) -> int:
    out = out or sys.stdout
    try:
        chosen = Fellowship.parse(fellowship) if fellowship else None
    except ValueError as exc:
        print(f"--fellowship: {exc}", file=out)
        return BAD_INPUT
    if not source.is_file():
        print(f"{source}: no such file", file=out)
        return BAD_INPUT
    report = import_meetings(source, data_dir, chosen)
    for problem in report.errors:
        print(problem, file=out)
    if not report.ok:
        print(f"Nothing imported: {len(report.errors)} problem(s) to fix first.", file=out)
        return BAD_INPUT
    print(
        f"Imported {len(report.meetings)} meetings into {report.written_to}. "
        "Run 'nightowl content reload' to make them live.",
        file=out,
    )
    return OK


def run_check(data_dir: Path, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        network = load_network(data_dir)
    except ContentError as exc:
        for problem in exc.problems:
            print(problem, file=out)
        return BAD_INPUT
    print(
        f"OK: {len(network.meetings)} meetings, {len(network.services)} services, "
        f"{len(network.places.towns)} towns, {len(network.places.outcodes)} postcode districts, "
        f"{len(network.crisis_cards)} crisis card(s).",
        file=out,
    )
    return OK


def request_reload(base_url: str, timeout: float = 10.0) -> httpx.Response:
    """Ask the running service to reload its content (admin route)."""
    return httpx.post(base_url.rstrip("/") + RELOAD_PATH, timeout=timeout)


def run_reload(base_url: str | None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if base_url is None:
        print(
            "The running service reloads its content when asked on its admin route "
            f"(POST {RELOAD_PATH}). Run 'nightowl content reload --url http://HOST:PORT'. "
            "If the new content is bad, the old content stays live.",
            file=out,
        )
        return OK
    try:
        response = request_reload(base_url)
    except httpx.HTTPError as exc:
        print(f"Could not reach {base_url}: {exc}", file=out)
        return BAD_INPUT
    if response.is_success:
        print(f"Reloaded: {response.text.strip() or response.status_code}", file=out)
        return OK
    print(f"Reload refused ({response.status_code}): {response.text.strip()}", file=out)
    return BAD_INPUT


def run_export_html(target: Path, data_dir: Path, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        network = load_network(data_dir)
    except ContentError as exc:
        for problem in exc.problems:
            print(problem, file=out)
        return BAD_INPUT
    target.write_text(render_map_html(network), encoding="utf-8")
    print(f"Wrote the printable map to {target}.", file=out)
    return OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``content import|check|reload|export`` to the main CLI."""
    content = subparsers.add_parser("content", help="meetings, services and the crisis card")
    commands = content.add_subparsers(dest="content_command", required=True)

    def data_dir_option(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)

    importer = commands.add_parser("import", help="import a Meeting Guide JSON feed or CSV")
    importer.add_argument("file", type=Path)
    importer.add_argument("--fellowship", help="AA, NA, CA, SMART, Al-Anon or other")
    data_dir_option(importer)
    importer.set_defaults(func=lambda a: run_import(a.file, a.data_dir, a.fellowship))

    check = commands.add_parser("check", help="validate the content files")
    data_dir_option(check)
    check.set_defaults(func=lambda a: run_check(a.data_dir))

    reload = commands.add_parser("reload", help="make the running service load new content")
    reload.add_argument("--url", help="base URL of the running service")
    reload.set_defaults(func=lambda a: run_reload(a.url))

    export = commands.add_parser("export", help="write the whole map as one HTML page")
    export.add_argument("--html", type=Path, required=True, metavar="FILE")
    data_dir_option(export)
    export.set_defaults(func=lambda a: run_export_html(a.html, a.data_dir))
