"""``nightowl content`` sub-commands: exit codes and one line per problem."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import httpx
import pytest

from content import cli
from content.loader import DEFAULT_DATA_DIR

FIXTURES = Path(__file__).parent / "fixtures" / "content"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    parser = argparse.ArgumentParser(prog="nightowl")
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["content", *argv])
    code = args.func(args)
    return code, capsys.readouterr().out.splitlines()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


def test_check_ok(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    code, out = run(capsys, "check", "--data-dir", str(data_dir))
    assert code == 0
    assert out == [
        "OK: 48 meetings, 20 services, 19 towns, 2865 postcode districts, 1 crisis card(s)."
    ]


def test_check_bad(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    (data_dir / "towns.toml").write_text("[[town]]\nname = 'X'\n")
    code, out = run(capsys, "check", "--data-dir", str(data_dir))
    assert code == 2
    assert len(out) == 3 and all("towns.toml" in line and "is missing" in line for line in out)


def test_import_good_and_bad(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    code, out = run(
        capsys,
        "import",
        str(FIXTURES / "tsml-export.csv"),
        "--fellowship",
        "NA",
        "--data-dir",
        str(data_dir),
    )
    assert code == 0 and out[0].startswith("Imported 3 meetings into")
    code, out = run(
        capsys, "import", str(FIXTURES / "tsml-broken.csv"), "--data-dir", str(data_dir)
    )
    assert code == 2
    assert len(out) == 4 and out[-1] == "Nothing imported: 3 problem(s) to fix first."
    code, out = run(capsys, "import", "nope.json", "--fellowship", "Cheese")
    assert (code, len(out)) == (2, 1) and out[0].startswith("--fellowship: unknown fellowship")


def test_export_html(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "map.html"
    code, out = run(capsys, "export", "--html", str(target))
    assert code == 0 and target.read_text().startswith("<!DOCTYPE html>")
    assert out == [f"Wrote the printable map to {target}."]


def test_reload_prints_how_and_posts_when_asked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = run(capsys, "reload")
    assert code == 0 and "nightowl content reload --url" in out[0]
    seen: list[str] = []

    def fake_post(url: str, timeout: float) -> httpx.Response:
        seen.append(url)
        return httpx.Response(200, text="reloaded 48 meetings")

    monkeypatch.setattr(cli.httpx, "post", fake_post)
    code, out = run(capsys, "reload", "--url", "http://127.0.0.1:8080/")
    assert (code, out, seen) == (
        0,
        ["Reloaded: reloaded 48 meetings"],
        ["http://127.0.0.1:8080/admin/content/reload"],
    )
