"""The whole map as one printable, accessible HTML page (no scripts, no outside files).

Crisis numbers come first. Then each area: meetings by day (Monday first), then
services by kind. Headings nest h1 > h2 (area) > h3 (meetings/services) > h4 (day
or kind) so screen readers can jump around.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from html import escape

from content.formatting import format_crisis_card, hours_text
from content.models import SERVICE_KIND_WORDS, Meeting, Service
from content.network import RecoveryNetwork
from content.wording import FULL_DAY_NAMES

UK_WEEK = (1, 2, 3, 4, 5, 6, 0)
ATTRIBUTION = (
    "Postcode places: Contains OS data © Crown copyright and database right. "
    "Contains Royal Mail data © Royal Mail copyright and database right. "
    "Used under the Open Government Licence v3.0."
)

STYLE = """
body { font: 1.1rem/1.5 system-ui, sans-serif; max-width: 50rem; margin: 0 auto; padding: 1rem;
       color: #111; background: #fff; }
h1, h2, h3, h4 { line-height: 1.2; }
.crisis { border: 3px solid #b00020; padding: 0 1rem; border-radius: .5rem; }
ul { padding-left: 1.2rem; }
li { margin-bottom: .5rem; }
.when { font-weight: bold; }
.words { display: block; color: #333; }
a { color: #0645ad; }
@media print {
  body { font-size: 11pt; max-width: none; padding: 0; }
  nav { display: none; }
  a { color: #000; text-decoration: none; }
  a[href^="http"]::after { content: " (" attr(href) ")"; font-size: 9pt; }
  section.area { break-before: page; }
  li { break-inside: avoid; }
  .crisis { break-inside: avoid; }
}
"""


def _id(text: str) -> str:
    return "area-" + re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


def _meeting_item(meeting: Meeting) -> str:
    end = f"–{meeting.end_time}" if meeting.end_time else ""
    where = []
    if meeting.is_in_person:
        where.append(escape(", ".join(p for p in (meeting.location, meeting.full_address) if p)))
    if meeting.conference_url:
        url = escape(meeting.conference_url)
        where.append(f'Online: <a href="{url}">{url}</a>')
    if meeting.conference_phone:
        where.append(f"By phone: {escape(meeting.conference_phone)}")
    words = ", ".join(meeting.type_words)
    notes = f" {escape(meeting.notes)}" if meeting.notes else ""
    return (
        f'<li><span class="when">{meeting.time}{end}</span> {escape(meeting.fellowship.value)}: '
        f"{escape(meeting.name)}. {'. '.join(where)}."
        + (f'<span class="words">{escape(words[:1].upper() + words[1:])}.</span>' if words else "")
        + f"{notes}</li>"
    )


def _service_item(service: Service) -> str:
    parts = [f"<strong>{escape(service.name)}</strong>"]
    if service.full_address:
        parts.append(escape(service.full_address))
    if service.phone:
        parts.append(f"Phone {escape(service.phone)}")
    parts.append(escape(hours_text(service)))
    if service.website:
        url = escape(service.website)
        parts.append(f'<a href="{url}">{url}</a>')
    if service.note:
        parts.append(escape(service.note))
    return "<li>" + ". ".join(parts) + ".</li>"


def _crisis_section(network: RecoveryNetwork) -> list[str]:
    out = [
        '<section class="crisis" aria-labelledby="crisis">',
        '<h2 id="crisis">If you are in danger</h2>',
    ]
    for card in network.crisis_cards:
        heading, *lines = format_crisis_card(card, detailed=True).splitlines()
        out.append(f"<h3>{escape(heading.rstrip(':'))}</h3><ul>")
        out += [f"<li>{escape(line)}</li>" for line in lines]
        out.append("</ul>")
    out.append("</section>")
    return out


def _area_section(area: str, meetings: list[Meeting], services: list[Service]) -> list[str]:
    out = [
        f'<section class="area" aria-labelledby="{_id(area)}">',
        f'<h2 id="{_id(area)}">{escape(area)}</h2>',
    ]
    if meetings:
        out.append("<h3>Meetings</h3>")
        for weekday in UK_WEEK:
            today = sorted(
                (m for m in meetings if weekday in m.day), key=lambda m: (m.time, m.name)
            )
            if today:
                out.append(f"<h4>{FULL_DAY_NAMES[weekday]}</h4><ul>")
                out += [_meeting_item(m) for m in today]
                out.append("</ul>")
    if services:
        out.append("<h3>Help and services</h3>")
        by_kind: dict[str, list[Service]] = defaultdict(list)
        for service in sorted(services, key=lambda s: s.name):
            by_kind[SERVICE_KIND_WORDS[service.kind]].append(service)
        for kind_words, group in sorted(by_kind.items()):
            out.append(f"<h4>{escape(kind_words[:1].upper() + kind_words[1:])}</h4><ul>")
            out += [_service_item(s) for s in group]
            out.append("</ul>")
    out.append("</section>")
    return out


def render_map_html(network: RecoveryNetwork, made_on: date | None = None) -> str:
    made_on = made_on or date.today()
    areas = network.areas
    has_sample = any("(sample)" in m.name for m in network.meetings)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en-GB">',
        '<head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Night Owl recovery map</title>",
        # No icon to fetch: the page must work offline, with no requests at all.
        '<link rel="icon" href="data:,">',
        f"<style>{STYLE}</style></head>",
        "<body><header><h1>Night Owl recovery map</h1>",
        f"<p>Made on {made_on:%d %B %Y}. Times can change, so check before you go if you can.</p>",
    ]
    if has_sample:
        out.append(
            "<p><strong>Entries marked (sample) are SAMPLE data, made up for testing.</strong></p>"
        )
    out.append('<nav aria-label="Areas"><ul>')
    out += [f'<li><a href="#{_id(a)}">{escape(a)}</a></li>' for a in areas]
    out.append("</ul></nav></header><main>")
    out += _crisis_section(network)
    for area in areas:
        meetings = [m for m in network.meetings if m.area == area]
        services = [s for s in network.services if s.area == area]
        out += _area_section(area, meetings, services)
    out += [
        '<section aria-labelledby="about"><h2 id="about">About this map</h2>',
        f"<p>{escape(ATTRIBUTION)}</p></section>",
        "</main></body></html>",
    ]
    return "\n".join(out) + "\n"
