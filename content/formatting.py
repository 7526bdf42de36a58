"""Turn a :class:`LookupResult` into an SMS (at most 2 segments) or a Telegram message.

SMS answers list up to 3 items numbered across pages ("1", "2", "3", then "4"...),
so a reply of a number picks the item (see :func:`content.search.pick`). Text is
made GSM-7 safe first: one curly quote would switch the whole SMS to UCS-2 and
halve its room.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from bot.segments import GSM7_BASIC, GSM7_EXTENSION, count_segments
from content import texts, wording
from content.models import (
    SERVICE_KIND_WORDS,
    WEEKDAY_NAMES,
    CrisisCard,
    Meeting,
    Service,
    hhmm,
)
from content.network import Entry, RecoveryNetwork
from content.query import LookupKind, LookupQuery, decode_query, encode_query
from content.search import Hit, LookupResult

SMS_MAX_SEGMENTS = 2
SMS_PAGE_SIZE = 3
TELEGRAM_PAGE_SIZE = 5
CALLBACK_MAX_BYTES = 64
CALLBACK_PREFIX = "no"
LABEL_LENGTHS = (40, 26, 16)  # venue names are shortened step by step to fit

_ASCII_LOOKALIKES = str.maketrans(
    {"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "\u00a0": " "}
)
# Monday first, as people in the UK read a week.
_UK_WEEK = (1, 2, 3, 4, 5, 6, 0)


def sms_safe(text: str) -> str:
    """Replace characters outside GSM-7 with close ASCII ones (or drop them)."""
    text = text.translate(_ASCII_LOOKALIKES)
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        return text
    out = []
    for ch in text:
        if ch in GSM7_BASIC or ch in GSM7_EXTENSION:
            out.append(ch)
        else:
            out.append(unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode())
    return "".join(out)


def fits_sms(text: str) -> bool:
    return count_segments(text) <= SMS_MAX_SEGMENTS


def shorten(text: str, limit: int) -> str:
    """Cut to ``limit`` characters, keeping a short trailing tag such as "(sample)"."""
    if len(text) <= limit:
        return text
    head, tag = text, ""
    if text.endswith(")") and "(" in text:
        cut = text.rindex("(")
        if len(text) - cut <= 10:
            head, tag = text[:cut].rstrip(), " " + text[cut:]
    room = max(limit - len(tag) - 2, 4)
    return head[:room].rstrip() + ".." + tag


def miles_text(miles: float) -> str:
    return "<1mi" if miles < 0.5 else f"{round(miles)}mi"


def item_line(number: int, hit: Hit, label_max: int) -> str:
    """E.g. ``1 SMART Tue 19:00 Crawley Hub (sample), 2mi``."""
    entry = hit.entry
    if isinstance(entry, Meeting):
        when = f"{hit.starts:%a %H:%M}" if hit.starts else entry.time
        head = f"{number} {wording.LIST_LABELS[entry.fellowship]} {when}"
        if hit.distance is None:
            return f"{head} online: {shorten(entry.name, label_max)}"
        return f"{head} {shorten(entry.place_label, label_max)}, {miles_text(hit.distance)}"
    parts = [f"{number} {shorten(entry.name, label_max)}"]
    if hit.open_now and hit.closes:
        parts.append(f"open now till {hit.closes:%H:%M}")
    elif hit.starts:
        parts.append(f"opens {hit.starts:%a %H:%M}")
    if hit.distance is not None:
        parts.append(miles_text(hit.distance))
    return ", ".join(parts)


def reply_hint(first: int, last: int, more: bool) -> str:
    if first == last:
        hint = wording.REPLY_ONE_FOR_DETAILS.format(first=first)
    else:
        hint = wording.REPLY_FOR_DETAILS.format(first=first, last=last)
    return f"{hint} {wording.MORE}" if more else hint


def format_crisis_card(card: CrisisCard, detailed: bool = False) -> str:
    lines = [wording.CRISIS_HEADING.format(region=card.region)]
    for line in card.lines:
        extra = f" ({line.what_for})" if detailed and line.what_for else ""
        lines.append(f"{line.name}{extra}: {line.contact}, {line.hours}")
    return "\n".join(lines)


def _page(result: LookupResult, page: int, size: int) -> tuple[int, tuple[Hit, ...], bool]:
    start = max(page, 0) * size
    return start, result.items[start : start + size], len(result.items) > start + size


def format_sms(result: LookupResult, page: int = 0) -> str:
    """The answer as one SMS of at most two segments."""
    if result.kind is LookupKind.CRISIS:
        return sms_safe(format_crisis_card(result.crisis))
    start, items, more = _page(result, page, SMS_PAGE_SIZE)
    if page > 0 and not items:
        return sms_safe(f"That's all for {result.understood}.")
    before = [result.headline] + ([result.suggestion] if result.suggestion else [])
    safety = texts.render("safety.line")
    for count in range(len(items), 0, -1):
        for extras in ([result.tip, safety], [safety], []):
            for label_max in LABEL_LENGTHS:
                lines = [item_line(start + i + 1, hit, label_max) for i, hit in enumerate(items)]
                lines = lines[:count]
                footer = reply_hint(start + 1, start + count, more or count < len(items))
                text = sms_safe("\n".join([*before, *lines, footer, *filter(None, extras)]))
                if fits_sms(text):
                    return text
    # Nothing listed (or nothing fits): what we understood and what to try.
    tail = [t for t in (result.tip, safety) if t]
    return _fit_lines(before, tail)


def _fit_lines(required: list[str], optional: list[str]) -> str:
    """Required lines (last one cut if it must be), then optional lines that fit."""
    lines = [sms_safe(line) for line in required]
    while not fits_sms("\n".join(lines)) and len(lines[-1]) > 20:
        lines[-1] = shorten(lines[-1], len(lines[-1]) - 10)
    for line in optional:
        candidate = [*lines, sms_safe(line)]
        if fits_sms("\n".join(candidate)):
            lines = candidate
    return "\n".join(lines)


def days_text(days: tuple[int, ...]) -> str:
    if len(days) == 7:
        return "Every day"
    return ", ".join(WEEKDAY_NAMES[d] for d in _UK_WEEK if d in days)


def hours_text(service: Service) -> str:
    """Opening hours grouped by runs of equal days: "Mon-Fri 09:00-17:00, Sat 10:00-14:00"."""
    groups: list[tuple[list[int], str]] = []  # runs of consecutive days, same hours
    for weekday in _UK_WEEK:
        text = " & ".join(f"{hhmm(a)}-{hhmm(b)}" for a, b in service.opening[weekday])
        if groups and groups[-1][1] == text:
            groups[-1][0].append(weekday)
        else:
            groups.append(([weekday], text))
    parts = []
    for days, text in groups:
        if not text:
            continue
        if len(days) == 7:
            label = "Every day"
        elif len(days) > 2:
            label = f"{WEEKDAY_NAMES[days[0]]}-{WEEKDAY_NAMES[days[-1]]}"
        else:
            label = " & ".join(WEEKDAY_NAMES[d] for d in days)
        parts.append(f"{label} {text}")
    return ", ".join(parts) or "Phone for times"


def _meeting_details(meeting: Meeting) -> tuple[list[str], list[str]]:
    end = f"-{meeting.end_time}" if meeting.end_time else ""
    required = [meeting.name, f"{days_text(meeting.day)} {meeting.time}{end}"]
    if meeting.is_in_person:
        required.append(", ".join(p for p in (meeting.location, meeting.full_address) if p))
    if meeting.conference_url:
        required.append(f"Online: {meeting.conference_url}")
    if meeting.conference_phone:
        required.append(f"By phone: {meeting.conference_phone}")
    optional = []
    if meeting.type_words:
        words = ", ".join(meeting.type_words)
        optional.append(words[0].upper() + words[1:])
    if meeting.notes:
        optional.append(meeting.notes)
    return required, optional


def _service_details(service: Service) -> tuple[list[str], list[str]]:
    required = [f"{service.name} ({SERVICE_KIND_WORDS[service.kind]})"]
    if service.full_address:
        required.append(service.full_address)
    if service.phone:
        required.append(f"Phone {service.phone}")
    required.append(hours_text(service))
    optional = [service.note or "", service.website or ""]
    if service.tags:
        optional.append("Also: " + ", ".join(service.tags))
    return required, [line for line in optional if line]


def details_lines(item: Hit | Entry) -> tuple[list[str], list[str]]:
    """(lines that must be shown, lines shown if there is room) for one item."""
    entry = item.entry if isinstance(item, Hit) else item
    if isinstance(entry, Meeting):
        return _meeting_details(entry)
    return _service_details(entry)


def format_details(item: Hit | Entry) -> str:
    """Everything about one meeting or service, as an SMS of at most two segments."""
    required, optional = details_lines(item)
    return _fit_lines(required, optional)


# ---- Telegram ---------------------------------------------------------------

Buttons = list[list[tuple[str, str]]]


def _callback(*parts: object) -> str:
    return ":".join((CALLBACK_PREFIX, *map(str, parts)))


def format_telegram(result: LookupResult, page: int = 0) -> tuple[str, Buttons]:
    """Up to 5 items per page; buttons are rows of (label, callback_data)."""
    if result.kind is LookupKind.CRISIS:
        return format_crisis_card(result.crisis, detailed=True), []
    start, items, more = _page(result, page, TELEGRAM_PAGE_SIZE)
    lines = [result.headline] + ([result.suggestion] if result.suggestion else [])
    lines += [item_line(start + i + 1, hit, 60) for i, hit in enumerate(items)]
    if result.tip:
        lines.append(result.tip)
    buttons: Buttons = []
    if items:
        lines.append(wording.TAP_FOR_DETAILS)
        buttons.append(
            [(str(start + i + 1), _callback("d", hit.ref)) for i, hit in enumerate(items)]
        )
    code = encode_query(result.query)
    paging = []
    if page > 0:
        paging.append((wording.BACK_BUTTON, _callback("p", page - 1, code)))
    if more:
        paging.append((wording.MORE_BUTTON, _callback("p", page + 1, code)))
    if paging and all(len(data.encode()) <= CALLBACK_MAX_BYTES for _, data in paging):
        buttons.append(paging)
    return "\n".join(lines), buttons


@dataclass(frozen=True)
class DetailsRequest:
    entry: Entry


@dataclass(frozen=True)
class PageRequest:
    query: LookupQuery
    page: int


def parse_callback(data: str, network: RecoveryNetwork) -> DetailsRequest | PageRequest | None:
    """Undo the callback data made by :func:`format_telegram` (None if stale or foreign)."""
    parts = data.split(":", 3)
    if len(parts) < 3 or parts[0] != CALLBACK_PREFIX:
        return None
    if parts[1] == "d" and len(parts) == 3:
        entry = network.find(parts[2])
        return DetailsRequest(entry) if entry is not None else None
    if parts[1] == "p" and len(parts) == 4 and parts[2].isdigit():
        query = decode_query(parts[3], network.places)
        return PageRequest(query, int(parts[2])) if query is not None else None
    return None
