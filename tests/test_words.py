"""Every word we say: short enough for two SMS, and safety numbers where they matter."""

from __future__ import annotations

import pytest

from bot.segments import count_segments
from content import texts

# Typical values for placeholders (a long-ish handle, label, queue and count).
VALUES = {
    "handle": "Samantha",
    "label": "Owl-7K",
    "queue": "west-sussex",
    "position": 12,
    "count": 3,
    "waiting": 4,
    "detail": "returning, 3 earlier chat(s)",
    "triage": "self_harm",
    "minutes": 25,
    "code": "K7M2QX",
    "ref": "K7M2QX",
    "opens": "9pm tomorrow",
    "on_duty": "Sam, Jo, Alex",
    "labels": "Owl-7K, Owl-3F",
    "on": "on",
    "night": "Sat 28 Nov",
    "handles": "Sam, Jo",
    "queues": "default, family",
    "id": 1234,
    "nights": 7,
    "list": "Sam (on), Jo (off)",
    "flag": " Urgent: self_harm.",
    "note": " Last buddy's note: likes football",
    "text": "",
    "median": "4m",
    "p90": "11m",
    "unanswered": 1,
    "urgent": 2,
    "feedback": "4.2/5",
}


def render(key: str) -> str:
    names = texts.placeholders(key) - {"safety"}
    return texts.render(key, **{name: VALUES.get(name, "x") for name in names})


@pytest.mark.parametrize("key", texts.keys())
def test_every_text_fits_two_sms(key: str) -> None:
    assert count_segments(render(key)) <= 2, render(key)


@pytest.mark.parametrize(
    "key",
    [
        "compliance.help",
        "compliance.stopped",
        "texter.queued",
        "texter.urgent",
        "texter.honest",
        "texter.out_of_hours",
        "texter.still_waiting",
        "texter.crisis_card",
        "general.error",
    ],
)
def test_a_person_in_danger_is_told_what_to_do(key: str) -> None:
    text = render(key)
    assert "999" in text
    assert "116 123" in text


def test_no_template_is_defined_twice_and_all_load() -> None:
    assert len(texts.keys()) == len(set(texts.keys())) > 50
