"""The recovery network map: one immutable snapshot of all content, indexed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from content.index import MeetingIndex
from content.models import CrisisCard, Meeting, Service, Town
from content.places import Gazetteer, Place

Entry = Meeting | Service


def make_ref(prefix: str, slug: str) -> str:
    """Short, stable id for callback data (slugs can be long or non-ASCII)."""
    return prefix + hashlib.blake2b(slug.encode(), digest_size=6).hexdigest()


@dataclass(frozen=True)
class RecoveryNetwork:
    meetings: tuple[Meeting, ...]
    services: tuple[Service, ...]
    crisis_cards: tuple[CrisisCard, ...]
    places: Gazetteer
    index: MeetingIndex
    refs: Mapping[str, Entry]
    ref_of: Mapping[str, str]  # "meeting:slug" / "service:slug" -> ref

    @classmethod
    def build(
        cls,
        meetings: Sequence[Meeting],
        services: Sequence[Service],
        crisis_cards: Sequence[CrisisCard],
        towns: Iterable[Town],
        outcodes: Mapping[str, tuple[float, float]],
    ) -> RecoveryNetwork:
        refs: dict[str, Entry] = {}
        ref_of: dict[str, str] = {}
        for prefix, entries in (("m", meetings), ("s", services)):
            for entry in entries:
                ref = make_ref(prefix, entry.slug)
                while ref in refs:  # a hash clash: extend deterministically
                    ref = make_ref(prefix, ref)
                refs[ref] = entry
                ref_of[_entry_key(entry)] = ref
        return cls(
            meetings=tuple(meetings),
            services=tuple(services),
            crisis_cards=tuple(crisis_cards),
            places=Gazetteer(outcodes, towns),
            index=MeetingIndex(meetings),
            refs=MappingProxyType(refs),
            ref_of=MappingProxyType(ref_of),
        )

    def find(self, ref: str) -> Entry | None:
        """The meeting or service behind a ref from :meth:`ref_for` (callback data)."""
        return self.refs.get(ref)

    def ref_for(self, entry: Entry) -> str:
        return self.ref_of[_entry_key(entry)]

    def crisis_card(self, place: Place | None = None) -> CrisisCard:
        """The card for the place's area, else the default (national) card."""
        if place is not None and place.area:
            for card in self.crisis_cards:
                if place.area in card.areas:
                    return card
        return next(card for card in self.crisis_cards if not card.areas)

    @property
    def areas(self) -> tuple[str, ...]:
        found = {m.area for m in self.meetings} | {s.area for s in self.services}
        return tuple(sorted(found))


def _entry_key(entry: Entry) -> str:
    return f"{'meeting' if isinstance(entry, Meeting) else 'service'}:{entry.slug}"
