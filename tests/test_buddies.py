"""The night-owl buddy queues end to end through the simulator."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from bot.clock import utcnow
from bot.store import contacts as contacts_repo
from bot.store.buddy_tables import buddies, conversations
from bot.store.scheduler_tables import appointments, journal, schedule_prefs, scheduled
from content import texts
from tests.buddy_world import World, buddy_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with buddy_world(tmp_path) as w:
        yield w


def owl_code(text: str) -> str:
    found = re.search(r"Owl-(\w\w)", text)
    assert found, text
    return found.group(1)


async def test_enrolment_with_a_one_use_code(world: World) -> None:
    [invite] = await world.coord.say("/invite")
    code = re.search(r"JOIN (\w+)", invite)
    assert code and "default" in invite
    newbie = world.phone("buddy-sam")
    assert await newbie.say(f"join {code.group(1)}") == [texts.render("buddy.ask_handle")]
    assert await newbie.say("S4m!") == [texts.render("buddy.bad_handle")]
    [joined] = await newbie.say("sam")
    assert joined.startswith("Welcome, Sam!")
    other = world.phone("buddy-jo")
    assert await other.say(f"JOIN {code.group(1)} Jo") == [texts.render("buddy.bad_code")]


async def test_texters_cannot_use_volunteer_commands(world: World) -> None:
    texter = world.phone("texter-anna")
    for command in ("/invite", "/next", "/stats 3"):
        assert await texter.say(command) == [texts.render("texter.for_volunteers")]


async def test_a_whole_conversation(world: World) -> None:
    sam = await world.enrol("buddy-sam", "Sam")
    assert await sam.say("on") == [texts.render("buddy.on", waiting=0)]
    anna = world.phone("texter-anna")
    assert await anna.say("I feel rubbish tonight") == [texts.render("texter.queued")]
    [alert] = await sam.expect()
    code = owl_code(alert)
    assert alert == texts.render(
        "buddy.someone_waiting", label=f"Owl-{code}", detail="first contact"
    )

    intro, backlog = await sam.say("NEXT", expect=2)
    assert intro.startswith(f"You're with Owl-{code} (first contact, default).")
    assert backlog == f"Owl-{code}: I feel rubbish tonight"
    assert await anna.expect() == [texts.render("texter.claimed", handle="Sam")]

    assert await sam.say("Hi, I'm Sam. What's going on?", expect=0) == []
    assert await anna.expect() == ["Sam (peer buddy): Hi, I'm Sam. What's going on?"]
    assert await anna.say("Cravings are bad", expect=0) == []
    assert await sam.expect() == [f"Owl-{code}: Cravings are bad"]

    assert await anna.say("done") == [texts.render("texter.done")]
    assert await sam.expect() == [texts.render("buddy.texter_done", label=f"Owl-{code}")]
    assert await anna.say("4") == [texts.render("texter.feedback_thanks")]
    async with world.service.store.read() as conn:
        row = (await conn.execute(select(conversations))).one()
    assert (row.status, row.close_reason, row.feedback) == ("closed", "texter", 4)
    assert row.first_reply_at is not None


async def test_buddy_tools_pass_note_crisis_flag(world: World) -> None:
    sam = await world.enrol("buddy-sam", "Sam")
    jo = await world.enrol("buddy-jo", "Jo")
    await sam.say("on")
    anna = world.phone("texter-anna")
    await anna.say("hello is anyone there")
    [alert] = await sam.expect()
    code = owl_code(alert)
    await sam.say("next", expect=2)
    await anna.expect()

    assert await sam.say("crisis") == [texts.render("buddy.crisis_sent", label=f"Owl-{code}")]
    assert await anna.expect() == [texts.render("texter.crisis_card")]
    async with world.service.store.read() as conn:
        row = (await conn.execute(select(conversations))).one()
    assert row.first_reply_at is not None  # the card answers them: not handed back unanswered
    assert await sam.say("FLAG talking about using again") == [texts.render("buddy.flagged")]
    [flag] = await world.coord.expect()
    assert flag.startswith(f"Flag from Sam about Owl-{code} (chat ")
    assert "texter-anna" not in flag

    assert await sam.say("note likes to talk about football") == [
        texts.render("buddy.note_saved", label=f"Owl-{code}")
    ]
    await jo.say("on")
    [passed] = await sam.say("pass had to go")
    assert passed == texts.render("buddy.passed", label=f"Owl-{code}")
    assert await anna.expect() == [texts.render("texter.passed")]
    [jo_alert] = await jo.expect()
    assert f"Owl-{code}" in jo_alert
    intro, backlog = await jo.say("next", expect=2)
    assert "Last buddy's note: had to go" in intro
    assert backlog.endswith("hello is anyone there")


async def test_handover_note_reaches_the_next_conversation(world: World) -> None:
    anna, sam, _ = await world.chat_with("texter-anna", "evening")
    await sam.say("note prefers short texts")
    await sam.say("done")
    assert await anna.expect() == [texts.render("texter.closed_by_buddy", handle="Sam")]
    await anna.say("back again")
    [alert] = await sam.expect()
    assert "returning, 1 earlier chat(s)" in alert
    intro, _ = await sam.say("next", expect=2)
    assert "Last buddy's note: prefers short texts" in intro


async def test_urgent_texter_goes_first_and_needs_done_safe(world: World) -> None:
    sam = await world.enrol("buddy-sam", "Sam")
    await sam.say("on")
    ben = world.phone("texter-ben")
    await ben.say("just want to chat")
    await sam.expect()
    anna = world.phone("texter-anna")
    assert await anna.say("I can't go on anymore") == [texts.render("texter.urgent")]
    [urgent] = await sam.expect()
    assert urgent.startswith("URGENT: Owl-") and "(suicide)" in urgent
    [coord_alert] = await world.coord.expect()
    assert coord_alert.startswith("URGENT in default:") and "On duty" not in coord_alert
    intro, _ = await sam.say("next", expect=2)
    assert "Urgent: suicide." in intro  # the urgent texter was taken first, not Ben
    code = owl_code(intro)
    await anna.expect()
    assert await sam.say("done") == [texts.render("buddy.needs_safe", label=f"Owl-{code}")]
    closed = await sam.say("done safe", expect=2)
    assert closed[0] == texts.render("buddy.done", label=f"Owl-{code}")
    assert "Owl-" in closed[1]  # and Ben, still waiting, is offered at once


async def test_stop_in_a_conversation_ends_it_and_tells_the_buddy(world: World) -> None:
    anna, sam, label = await world.chat_with("texter-anna", "hi")
    code = owl_code(label)
    assert await anna.say("STOP") == [texts.render("compliance.stopped")]
    assert await sam.expect() == [texts.render("texter.stopped_mid_chat", label=f"Owl-{code}")]
    assert await sam.say("are you there?") == [texts.render("buddy.no_chat")]
    await world.idle()
    await anna.silent()


async def test_capacity_and_a_freed_slot_is_offered_at_once(world: World) -> None:
    sam = await world.enrol("buddy-sam", "Sam")
    await sam.say("on")
    texters = [world.phone(f"texter-{n}") for n in ("one", "two", "three")]
    for t in texters:
        await t.say("hello")
    await sam.expect(3)  # three alerts
    await sam.say("next", expect=2)
    await sam.say("next", expect=2)
    assert await sam.say("next") == [texts.render("buddy.at_capacity", count=2)]
    chats = await sam.say("list")
    codes = re.findall(r"Owl-(\w\w)", chats[0])
    assert len(codes) == 2
    done, offer = await sam.say(f"{codes[0]}: done", expect=2)
    assert done == texts.render("buddy.done", label=f"Owl-{codes[0]}")
    assert offer.startswith("Owl-") and offer.endswith("Text NEXT to take them.")


async def test_several_chats_are_addressed_by_code(world: World) -> None:
    sam = await world.enrol("buddy-sam", "Sam")
    await sam.say("on")
    anna, ben = world.phone("texter-anna"), world.phone("texter-ben")
    await anna.say("hi from anna")
    await ben.say("hi from ben")
    await sam.expect(2)
    first = await sam.say("next", expect=2)
    second = await sam.say("next", expect=2)
    code_a, code_b = owl_code(first[0]), owl_code(second[0])
    assert await sam.say(f"{code_a}: just for you", expect=0) == []
    assert (await anna.expect(2))[1] == "Sam (peer buddy): just for you"
    await ben.send("are you still there?")  # Ben's chat is now the most recent
    assert await sam.expect() == [f"Owl-{code_b}: are you still there?"]
    [notice] = await sam.say("yes, I'm here")
    assert notice == texts.render("buddy.sent_to", label=f"Owl-{code_b}")
    assert (await ben.expect(2))[1] == "Sam (peer buddy): yes, I'm here"
    assert await sam.say("ZZ: hello") == [
        texts.render("buddy.unknown_code", code="ZZ", labels=f"Owl-{code_b}, Owl-{code_a}")
    ]


async def test_same_buddy_for_a_returning_texter(world: World) -> None:
    anna, sam, _ = await world.chat_with("texter-anna")
    await sam.say("done")
    await anna.expect()
    coming, claimed = await anna.say("SAME", expect=2)
    assert coming == texts.render("texter.same_coming", handle="Sam")
    assert claimed == texts.render("texter.claimed", handle="Sam")
    [intro] = await sam.expect()
    assert "They asked for you." in intro


async def test_fair_use_slows_down_kindly(tmp_path: Path) -> None:
    async with buddy_world(tmp_path, buddies={"fair_use_conversations": 2}) as world:
        anna = world.phone("texter-anna")
        for _ in range(2):
            assert await anna.say("hello") == [texts.render("texter.queued")]
            assert await anna.say("DONE") == [texts.render("texter.left_queue")]
        assert await anna.say("hello again") == [texts.render("texter.queued_busy")]


async def test_forget_deletes_after_one_confirmation(world: World) -> None:
    anna, bob = world.phone("texter-anna"), world.phone("texter-bob")
    for phone in (anna, bob):
        await phone.say("REMIND tomorrow 9 GP")
        await phone.say("PROMPTS 9am")
    async with world.service.store.tx() as conn:
        for address in ("texter-anna", "texter-bob"):
            who = await contacts_repo.find(conn, "sim", address)
            assert who is not None
            await conn.execute(
                insert(journal).values(
                    contact_id=who.id, text="private", shared=False, created_at=utcnow()
                )
            )
    await anna.say("something private")
    await anna.say("done")
    assert await anna.say("FORGET") == [texts.render("texter.forget_ask")]
    assert await anna.say("no") == [texts.render("texter.forget_kept")]
    await anna.say("FORGET")
    assert await anna.say("yes") == [texts.render("texter.forget_done")]
    async with world.service.store.read() as conn:
        assert (await conn.execute(select(conversations))).all() == []
        bobs = await contacts_repo.find(conn, "sim", "texter-bob")
        assert bobs is not None
        for table in (journal, appointments, schedule_prefs, scheduled):
            left = {r.contact_id for r in await conn.execute(select(table))}
            assert left == {bobs.id}, table.name  # Anna's gone, Bob's untouched


async def test_out_of_hours_reply_says_when_buddies_are_on(tmp_path: Path) -> None:
    closed = [{"name": "default", "default_hours": "closed", "hours": {"mon": "21:00-07:00"}}]
    async with buddy_world(tmp_path, queues=closed) as world:
        anna = world.phone("texter-anna")
        [reply] = await anna.say("anyone around?")
        assert reply.startswith("Night Owl buddies are on from ")
        assert "9pm" in reply and "116 123" in reply


async def test_coordinator_stats_remove_and_block(world: World) -> None:
    anna, sam, _ = await world.chat_with("texter-anna")
    await sam.say("hi, buddy here", expect=0)
    await anna.expect()
    await anna.say("done")
    await sam.expect()  # "Owl-… has ended the chat"
    assert await anna.say("5") == [texts.render("texter.feedback_thanks")]
    [stats] = await world.coord.say("/stats 7")
    assert stats.splitlines()[0] == "Last 7 night(s):"
    assert re.match(
        r"default: 1 chats, wait median \d+m p90 \d+m, unanswered 0, urgent 0, help 5.0/5",
        stats.splitlines()[1],
    )
    assert await world.coord.say("/buddies") == [
        texts.render("coordinator.buddies", list="Sam (on)")
    ]
    assert await world.coord.say("/remove Sam") == [
        texts.render("coordinator.removed", handle="Sam")
    ]
    # Sam is now treated as a texter: buddy words are not theirs any more.
    assert await sam.say("/next") == [texts.render("texter.for_volunteers")]


async def test_a_blocked_address_gets_no_reply(world: World) -> None:
    anna = world.phone("texter-anna")
    await anna.say("hello")
    [queued] = await world.coord.say("/buddies")
    assert queued == texts.render("coordinator.no_buddies")
    async with world.service.store.read() as conn:
        contact = await contacts_repo.find(conn, "sim", "texter-anna")
    assert contact is not None
    assert await world.coord.say(f"/block {contact.ref}") == [
        texts.render("coordinator.blocked", ref=contact.ref)
    ]
    await anna.send("hello again")
    await world.idle()
    await anna.silent()
    await world.coord.say(f"/unblock {contact.ref}")
    await anna.send("DONE")
    assert await anna.expect() == [texts.render("texter.left_queue")]


async def test_a_buddy_who_asked_for_the_next_texter_gets_them_straight_away(
    world: World,
) -> None:
    sam, jo = await world.enrol("buddy-sam", "Sam"), await world.enrol("buddy-jo", "Jo")
    for buddy in (sam, jo):
        await buddy.say("on")
    assert await jo.say("next") == [texts.render("buddy.ready", minutes=15)]
    assert await sam.say("next") == [texts.render("buddy.ready", minutes=15)]
    anna = world.phone("texter-anna")
    # Jo has waited longest: Anna goes straight to Jo, and nobody else is alerted.
    assert await anna.say("can't sleep, want a drink") == [
        texts.render("texter.claimed_at_once", handle="Jo")
    ]
    intro, backlog = await jo.expect(2)
    assert intro.startswith("You're with Owl-") and backlog.endswith(": can't sleep, want a drink")
    await world.idle()
    await sam.silent()
    # Jo was ready for one texter; the next one goes to Sam, still ready.
    ben = world.phone("texter-ben")
    assert await ben.say("hello") == [texts.render("texter.claimed_at_once", handle="Sam")]
    await sam.expect(2)
    assert (await jo.say(f"{owl_code(intro)}: hi, I'm Jo", expect=0)) == []
    assert (await anna.expect())[0] == "Jo (peer buddy): hi, I'm Jo"


async def test_a_passed_texter_goes_straight_to_a_ready_buddy(world: World) -> None:
    anna, sam, label = await world.chat_with("texter-anna", "feeling shaky tonight")
    jo = await world.enrol("buddy-jo", "Jo")
    await jo.say("on")
    assert await jo.say("next") == [texts.render("buddy.ready", minutes=15)]
    assert await sam.say("pass she likes to talk about her dog") == [
        texts.render("buddy.passed", label=label)
    ]
    assert await anna.expect() == [texts.render("texter.passed_at_once", handle="Jo")]
    intro, backlog = await jo.expect(2)
    assert intro.startswith(f"You're with {label}") and "likes to talk about her dog" in intro
    assert backlog.endswith("feeling shaky tonight")
    assert await jo.say("Hi, it's Jo", expect=0) == []
    assert await anna.expect() == ["Jo (peer buddy): Hi, it's Jo"]


async def test_being_ready_ends_after_a_while_and_when_going_off_duty(world: World) -> None:
    sam, jo = await world.enrol("buddy-sam", "Sam"), await world.enrol("buddy-jo", "Jo")
    for buddy in (sam, jo):
        await buddy.say("on")
        await buddy.say("next")
    await jo.say("off")
    # Sam said NEXT longer ago than ready_minutes: the texter waits, and both on duty hear.
    async with world.service.store.tx() as conn:
        await conn.execute(
            update(buddies)
            .where(buddies.c.handle == "Sam")
            .values(ready_since=utcnow() - timedelta(minutes=16))
        )
    anna = world.phone("texter-anna")
    assert await anna.say("hello") == [texts.render("texter.queued")]
    [alert] = await sam.expect()
    assert alert.startswith("Someone's waiting: Owl-")
    await world.idle()
    await jo.silent()


async def test_an_urgent_texter_reaches_a_ready_buddy_and_the_coordinator_hears(
    world: World,
) -> None:
    sam = await world.enrol("buddy-sam", "Sam")
    await sam.say("on")
    await sam.say("next")
    anna = world.phone("texter-anna")
    urgent, claimed = await anna.say("I want to kill myself", expect=2)
    assert urgent == texts.render("texter.urgent")
    assert claimed == texts.render("texter.claimed", handle="Sam")
    [intro, _] = await sam.expect(2)
    assert "Urgent" in intro
    [page] = await world.coord.expect()
    assert page.startswith("URGENT in default: Owl-")
