"""Areas: a person names their town or postcode (AREA Crawley, AREA RH10), the map's
places resolve it to an area, and a coordinator's notice to that area reaches the
subscribers who chose it, and nobody else."""

from __future__ import annotations

from pathlib import Path

import pytest

from content import texts
from content.loader import ContentStore
from tests.buddy_world import buddy_world


@pytest.mark.parametrize(
    ("named", "area"),
    [
        ("Crawley", "West Sussex"),
        ("crawly", "West Sussex"),  # a typo forgiven
        ("RH10", "West Sussex"),
        ("rh10 1ab", "West Sussex"),  # a whole postcode: its district
        ("West Sussex", "West Sussex"),
        ("brighton & hove", "Brighton and Hove"),
        ("Hove", "Brighton and Hove"),
        ("Bognor", "West Sussex"),  # an alias
        ("HX1", "Calderdale"),
        ("SW1A", None),  # a real district, but no area of ours near it
        ("Narnia", None),
        ("OFF", None),
    ],
)
def test_places_resolve_to_the_area_as_the_map_names_it(named: str, area: str | None) -> None:
    assert ContentStore().network.places.area(named) == area


async def test_an_area_notice_reaches_subscribers_in_that_area_only(tmp_path: Path) -> None:
    async with buddy_world(tmp_path) as world:
        crawley = world.phone("area-crawley")
        assert await crawley.say("AREA Crawley") == [
            texts.render("area.set_no_notices", area="West Sussex")
        ]
        await crawley.say("NOTICES ON")
        assert await crawley.say("AREA") == [texts.render("area.status", area="West Sussex")]

        postcode = world.phone("area-postcode")
        await postcode.say("NOTICES ON")
        assert await postcode.say("area rh10 1ab") == [texts.render("area.set", area="West Sussex")]
        halifax = world.phone("area-halifax")
        await halifax.say("NOTICES ON")
        assert await halifax.say("AREA halifx") == [texts.render("area.set", area="Calderdale")]
        not_subscribed = world.phone("area-not-subscribed")
        await not_subscribed.say("AREA Horsham")
        no_area = world.phone("area-none")
        assert await no_area.say("AREA") == [texts.render("area.status_none")]
        await no_area.say("NOTICES ON")
        cleared = world.phone("area-cleared")
        await cleared.say("NOTICES ON")
        await cleared.say("AREA Worthing")
        assert await cleared.say("AREA OFF") == [texts.render("area.off")]
        assert await cleared.say("AREA SW1A") == [texts.render("area.not_covered", place="SW1A")]
        assert await cleared.say("AREA Narnia") == [texts.render("area.unknown")]

        coord = world.coord
        assert await coord.say("/broadcast area narnia | now urgent | 12h | Hello") == [
            texts.render(
                "broadcast.unknown_area",
                area="narnia",
                areas="Brighton and Hove, Calderdale, West Sussex",
            )
        ]
        notice = "The Crawley meeting moves to the Hub tonight."
        [preview] = await coord.say(f"/broadcast area crawley | now urgent | 12h | {notice}")
        assert preview.startswith("Notice #1 to area West Sussex (urgent): sim 2.")
        assert await coord.say("/confirm 1") == ["Notice #1 will go now."]
        assert await crawley.expect(timeout=20) == [notice]
        assert await postcode.expect(timeout=20) == [notice]
        await world.idle()
        for phone in (halifax, not_subscribed, no_area, cleared):
            await phone.silent()
        [listing] = await coord.say("/broadcasts")
        assert "to area West Sussex" in listing and "2 sent" in listing
