"""REMIND, APPTS, DROP, REMINDERS and STAFF for everyone; /appt for coordinators."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.messages import Outbound
from bot.store import contacts as contacts_repo
from bot.store.contacts import Contact
from bot.store.tables import contacts
from content import texts
from handlers.listing import fit_lines
from handlers.turn import Turn
from handlers.when import Parsed, parse_remind
from scheduler import appointments, prefs
from scheduler.appointments import Appointment, describe
from scheduler.localtime import zone_of

_OFFSET = re.compile(r"^(\d{1,3})\s*(m|mins?|minutes?|h|hrs?|hours?|d|days?)$")
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440}
_MIN_OFFSET, _MAX_OFFSET, _MAX_OFFSETS = 10, 7 * 1440, 3
_REF = re.compile(r"^[A-Za-z0-9]{6}$")


def offsets_words(offsets: tuple[int, ...]) -> str:
    """``(1440, 60)`` → ``the day before and an hour before``."""

    def one(minutes: int) -> str:
        if minutes % 1440 == 0:
            days = minutes // 1440
            return "the day before" if days == 1 else f"{days} days before"
        if minutes % 60 == 0:
            hours = minutes // 60
            return "an hour before" if hours == 1 else f"{hours} hours before"
        return f"{minutes} minutes before"

    return " and ".join(one(m) for m in offsets)


async def _add(
    turn: Turn, person: Contact, parsed: Parsed, zone: ZoneInfo, created_by: int | None = None
) -> Appointment:
    settings = await prefs.get(turn.conn, person.id)
    return await appointments.add(
        turn.conn,
        person.id,
        parsed.starts_at,
        parsed.what,
        turn.now,
        offsets=settings.reminder_minutes,
        zone=zone,
        created_by=created_by,
    )


async def remind(turn: Turn, args: str) -> list[Outbound]:
    zone = zone_of(turn.contact, turn.settings)
    parsed = parse_remind(args, turn.now, zone)
    if not isinstance(parsed, Parsed):
        return [Outbound(texts.render(f"reminders.{parsed}"))]
    appt = await _add(turn, turn.contact, parsed, zone)
    offsets = (await prefs.get(turn.conn, turn.contact.id)).reminder_minutes
    return [
        Outbound(
            texts.render(
                "reminders.got_it", appt=describe(appt, zone), offsets=offsets_words(offsets)
            )
        )
    ]


def calendar(appts: list[Appointment], now: datetime) -> str:
    """An iCalendar file of ``appts`` (times in UTC, an hour long each)."""

    def stamp(at: datetime) -> str:
        return at.strftime("%Y%m%dT%H%M%SZ")

    def escape(value: str) -> str:
        return re.sub(r"([\\;,])", r"\\\1", value).replace("\n", " ")

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Night Owl//Appointments//EN"]
    for a in appts:
        lines += [
            "BEGIN:VEVENT",
            f"UID:appt-{a.id}@nightowl",
            f"DTSTAMP:{stamp(now)}",
            f"DTSTART:{stamp(a.starts_at)}",
            f"DTEND:{stamp(a.starts_at + timedelta(hours=1))}",
            f"SUMMARY:{escape(a.what)}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


async def list_appts(turn: Turn, args: str) -> list[Outbound] | None:
    if args:
        return None
    appts = await appointments.upcoming(turn.conn, turn.contact.id, turn.now)
    if not appts:
        return [Outbound(texts.render("appts.none"))]
    zone = zone_of(turn.contact, turn.settings)
    lines = [f"{n}. {describe(a, zone)}" for n, a in enumerate(appts, 1)]
    text = fit_lines(
        turn.contact.channel, lines, lambda body: texts.render("appts.list", lines=body)
    )
    if turn.contact.channel == "sms":
        return [Outbound(text)]
    buttons = [
        [[texts.render("appts.remove_button", number=n), f"DROP {n}"]]
        for n in range(1, len(appts) + 1)
    ]
    filename = "night-owl-appointments.ics"
    document = {
        "filename": filename,
        "mime_type": "text/calendar",
        "content_b64": base64.b64encode(calendar(appts, turn.now).encode()).decode(),
    }
    return [
        Outbound(text, meta={"buttons": buttons}),
        Outbound(texts.render("appts.calendar", filename=filename), meta={"document": document}),
    ]


async def drop(turn: Turn, args: str) -> list[Outbound] | None:
    """``DROP 2``: remove the second appointment in the APPTS list."""
    if not args.isdigit():
        return None
    number = int(args)
    appts = await appointments.upcoming(turn.conn, turn.contact.id, turn.now)
    if not 1 <= number <= len(appts):
        return [Outbound(texts.render("appts.no_such", number=number))]
    appt = appts[number - 1]
    await appointments.drop(turn.conn, appt, turn.now)
    zone = zone_of(turn.contact, turn.settings)
    return [Outbound(texts.render("appts.dropped", appt=describe(appt, zone)))]


def parse_offsets(args: str) -> tuple[int, ...] | None:
    """``24h 1h`` → ``(1440, 60)``; None unless 1 to 3 sensible lead times."""
    words = args.lower().replace(",", " ").split()
    found = []
    for word in words:
        m = _OFFSET.match(word)
        if m is None:
            return None
        minutes = int(m[1]) * _UNIT_MINUTES[m[2][0]]
        if not _MIN_OFFSET <= minutes <= _MAX_OFFSET:
            return None
        found.append(minutes)
    if not 1 <= len(set(found)) <= _MAX_OFFSETS:
        return None
    return tuple(sorted(set(found), reverse=True))


async def set_offsets(turn: Turn, args: str) -> list[Outbound]:
    """``REMINDERS 24h 1h``: when this person's reminders come (their upcoming ones too)."""
    offsets = parse_offsets(args)
    if offsets is None:
        return [Outbound(texts.render("reminders.offsets_help"))]
    await prefs.set_values(turn.conn, turn.contact.id, turn.now, reminder_minutes=list(offsets))
    zone = zone_of(turn.contact, turn.settings)
    await appointments.reschedule(turn.conn, turn.contact.id, offsets, zone, turn.now)
    return [Outbound(texts.render("reminders.offsets_set", offsets=offsets_words(offsets)))]


async def staff_consent(turn: Turn, args: str) -> list[Outbound] | None:
    """``STAFF YES`` lets coordinators add appointments for this person; ``STAFF NO``."""
    choice = {"YES": True, "ON": True, "NO": False, "OFF": False}.get(args.upper())
    if choice is None:
        return None
    await prefs.set_values(turn.conn, turn.contact.id, turn.now, staff_appts=choice)
    return [Outbound(texts.render("reminders.staff_on" if choice else "reminders.staff_off"))]


async def _by_ref(turn: Turn, ref: str) -> Contact | None:
    found = (
        await turn.conn.execute(select(contacts.c.id).where(contacts.c.ref == ref.upper()))
    ).first()
    return await contacts_repo.get(turn.conn, found.id) if found else None


async def staff_add(turn: Turn, args: str) -> list[Outbound]:
    """``/appt K7M2QX tue 10:30 keyworker``: a coordinator adds an appointment for a
    person who said STAFF YES, named by their Owl ref (never by phone number)."""
    ref, _, rest = args.partition(" ")
    if not _REF.match(ref):
        return [Outbound(texts.render("reminders.staff_use_ref"))]
    ref = ref.upper()
    person = await _by_ref(turn, ref)
    if person is None or not (await prefs.get(turn.conn, person.id)).staff_appts:
        return [Outbound(texts.render("reminders.staff_no_consent", ref=ref))]
    zone = zone_of(person, turn.settings)
    parsed = parse_remind(rest, turn.now, zone)
    if not isinstance(parsed, Parsed):
        return [Outbound(texts.render(f"reminders.{parsed}"))]
    appt = await _add(turn, person, parsed, zone, created_by=turn.contact.id)
    shown = describe(appt, zone)
    return [
        Outbound(texts.render("reminders.staff_added", ref=ref, appt=shown)),
        Outbound(texts.render("reminders.staff_added_for_you", appt=shown), to=person.id),
    ]
