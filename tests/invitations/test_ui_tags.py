"""The display filters of the invitation pages (invitations/templatetags/invitations_ui.py), rendered through Django's
template engine as the pages use them: expiry phrases for every distance, avatar initials, result labels and the
summary line of an invite."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.template import Context, Template
from django.utils import timezone

from invitations.services import InviteResult


def render(source: str, **context: Any) -> str:
    return Template("{% load invitations_ui %}" + source).render(Context(context))


@dataclass
class Person:
    first_name: str = ""
    last_name: str = ""
    email: str = ""


def test_no_deadline_renders_nothing() -> None:
    assert render("[{{ when|expiry_phrase }}]", when=None) == "[]"


@pytest.mark.parametrize(
    ("offset", "phrase"),
    [
        (timedelta(days=6, hours=23), "in 7 days"),
        (timedelta(days=1, hours=1), "in 1 day"),
        (timedelta(hours=2, minutes=10), "in 2 hours"),
        (timedelta(minutes=1, seconds=5), "in 1 minute"),
        (timedelta(seconds=30), "in less than a minute"),
        # The unit is picked after rounding: a deadline a day away never reads "in 24 hours".
        (timedelta(hours=23, minutes=50), "in 1 day"),
        (timedelta(hours=23, minutes=31), "in 1 day"),
        (timedelta(hours=23, minutes=20), "in 23 hours"),
        (timedelta(minutes=59, seconds=40), "in 1 hour"),
        (timedelta(minutes=59, seconds=20), "in 59 minutes"),
        (-timedelta(hours=23, minutes=45), "expired 1 day ago"),
        (-timedelta(hours=2), "expired 2 hours ago"),
        (-timedelta(seconds=20), "expired less than a minute ago"),
        (-timedelta(days=3), "expired 3 days ago"),
    ],
)
def test_expiry_phrases(offset: timedelta, phrase: str) -> None:
    when: datetime = timezone.now() + offset
    assert render("{{ when|expiry_phrase }}", when=when) == phrase


@pytest.mark.parametrize(
    ("person", "letters"),
    [
        (Person("ada", "lovelace", "ada@example.com"), "AL"),
        (Person("  ", "lovelace", "ada@example.com"), "L"),
        (Person("", "", "zoe@example.com"), "Z"),
        (Person("", "", ""), "?"),
        (object(), "?"),  # not a person at all (a missing inviter)
    ],
)
def test_initials_fall_back_to_the_email_then_a_question_mark(person: object, letters: str) -> None:
    assert render("{{ person|initials }}", person=person) == letters


@pytest.mark.parametrize(
    ("result", "label"),
    [
        ("invited", "Invited"),
        ("already_member", "Already a member"),
        ("already_invited", "Already invited"),
        ("invalid_email", "Not a valid email address"),
        ("queued", "Queued: will be sent shortly"),
        ("failed", "Failed"),
        ("some_new_outcome", "Some new outcome"),  # an outcome the page does not know yet still reads as words
    ],
)
def test_result_labels(result: str, label: str) -> None:
    assert render("{{ result|result_label }}", result=result) == label


def test_results_summary_counts_in_a_fixed_order_with_plurals() -> None:
    results = [
        InviteResult("b@example.com", "failed", "Clerk refused it."),
        InviteResult("a@example.com", "invited", "Invitation sent."),
        InviteResult("not-an-email", "invalid_email", "Not a valid email address."),
        InviteResult("c@example.com", "invited", "Invitation sent."),
        InviteResult("d@example.com", "already_member", "Already a member of this workspace."),
        InviteResult("e@example.com", "already_member", "Already a member of this workspace."),
        InviteResult("f@example.com", "queued", "Clerk did not answer in time."),
    ]

    summary = render("{{ results|results_summary }}", results=results)

    assert summary == "2 invited · 2 already members · 1 invalid address · 1 queued · 1 failed"
    assert render("[{{ results|results_summary }}]", results=[]) == "[]"
