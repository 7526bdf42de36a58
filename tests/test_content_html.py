"""The printable map: one accessible HTML page, crisis card first."""

from __future__ import annotations

import itertools
from datetime import date
from html.parser import HTMLParser

from content.html_map import render_map_html
from tests.test_content_support import sample_network

VOID = {"meta", "br", "img", "hr", "link", "input"}


class Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headings: list[tuple[int, str]] = []
        self.open: list[str] = []
        self.text_for: int | None = None
        self.tags: set[str] = set()
        self.html_lang: str | None = None
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        if tag == "html":
            self.html_lang = values.get("lang")
        source = values.get("src") or values.get("href") or ""
        if tag in ("link", "img", "script") and source and not source.startswith("data:"):
            self.external.append(tag)  # an inline data: URL fetches nothing
        if tag not in VOID:
            self.open.append(tag)
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.headings.append((int(tag[1]), ""))

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1:]}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] in ("h1", "h2", "h3", "h4") and self.headings:
            level, text = self.headings[-1]
            self.headings[-1] = (level, text + data)


def outline() -> tuple[Outline, str]:
    page = render_map_html(sample_network(), made_on=date(2026, 6, 15))
    parser = Outline()
    parser.feed(page)
    parser.close()
    assert parser.open == []
    return parser, page


def test_valid_looking_html_with_nested_headings() -> None:
    parser, page = outline()
    assert page.startswith("<!DOCTYPE html>")
    assert parser.html_lang == "en-GB"
    levels = [level for level, _ in parser.headings]
    assert levels[0] == 1 and levels.count(1) == 1
    for before, after in itertools.pairwise(levels):
        assert after <= before + 1, "a heading level is skipped"
    assert "script" not in parser.tags and parser.external == []
    assert "@media print" in page


def test_crisis_card_comes_first_and_every_area_is_present() -> None:
    parser, page = outline()
    h2s = [text for level, text in parser.headings if level == 2]
    assert h2s[0] == "If you are in danger"
    assert h2s[1:] == ["Brighton and Hove", "Calderdale", "West Sussex", "About this map"]
    assert page.index("116 123") < page.index('<section class="area"')


def test_days_and_sample_marking() -> None:
    parser, page = outline()
    west_sussex = [t for _, t in parser.headings[parser.headings.index((2, "West Sussex")) :]]
    assert west_sussex[1:4] == ["Meetings", "Monday", "Tuesday"]
    assert "SAMPLE data" in page
    assert "Crawley Night Owls AA (sample)" in page
    assert "Contains OS data © Crown copyright" in page
