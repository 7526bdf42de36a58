"""Who someone is, checked every time a command runs (never cached)."""

from __future__ import annotations

from bot.config import Settings
from bot.store.contacts import Contact


def address_of(contact: Contact) -> str:
    """``channel:address``, the form roles are configured in."""
    return f"{contact.channel}:{contact.address}"


def is_coordinator(settings: Settings, contact: Contact) -> bool:
    return address_of(contact) in settings.roles.coordinators


def is_on_call(settings: Settings, contact: Contact) -> bool:
    return address_of(contact) in settings.roles.on_call
