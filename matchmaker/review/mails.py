"""The introduction e-mails: one to each party, each in its recipient's language, with the other
party's contact person and e-mail and a link to the challenge."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from flask_babel import force_locale, gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.accounts.models import Role, User
from matchmaker.challenges.models import Challenge
from matchmaker.groups.models import ResearchGroup
from matchmaker.mail import Mail
from matchmaker.matching.models import Proposal

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"
#: The two parties of an introduction, as :attr:`Mail.party` names them.
COMPANY, GROUP = "company", "group"


@dataclass(frozen=True)
class Contact:
    """Whom the other party writes to: a person (may be empty) and an e-mail (may be empty)."""

    name: str
    email: str


def _language(code: str | None) -> str:
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def _company_users(session: Session, challenge: Challenge) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(
                User.organisation_id == challenge.organisation_id,
                User.role == Role.COMPANY,
                User.active,
            )
            .order_by(User.id)
        )
    )


def _group_users(session: Session, group: ResearchGroup) -> list[User]:
    return list(
        session.scalars(
            select(User).where(User.group_id == group.id, User.active).order_by(User.id)
        )
    )


def company_contact(session: Session, challenge: Challenge) -> Contact:
    """The company's contact for a challenge: who posted it, else the company's first user."""
    users = _company_users(session, challenge)
    person = next((u for u in users if u.id == challenge.created_by_id), None)
    person = person or (users[0] if users else None)
    if person is None:
        return Contact("", "")
    return Contact(person.name, person.email)


def group_contact(session: Session, group: ResearchGroup) -> Contact:
    """The group's contact: its head and its contact address (else its first user's)."""
    email = group.contact
    if not email:
        users = _group_users(session, group)
        email = users[0].email if users else ""
    return Contact(group.head, email)


def _recipients(session: Session, proposal: Proposal) -> dict[str, dict[str, str]]:
    """Per party, each address with its language: a user's chosen language; a group's contact
    address without an account gets the language of the group's profile."""
    company = {u.email: _language(u.language) for u in _company_users(session, proposal.challenge)}
    group: dict[str, str] = {
        u.email: _language(u.language) for u in _group_users(session, proposal.group)
    }
    contact = proposal.group.contact
    if contact and contact not in group:
        known = session.scalar(select(User).where(User.email == contact.strip().lower()))
        group[contact] = _language(
            known.language if known is not None and known.language else proposal.group.language
        )
    return {COMPANY: company, GROUP: group}


def _contact_lines(contact: Contact) -> str:
    return "\n".join(
        [
            gettext("Contact person: %(name)s", name=contact.name or "–"),
            gettext("E-mail: %(email)s", email=contact.email or "–"),
        ]
    )


def _company_mail(proposal: Proposal, contact: Contact, link: str) -> tuple[str, str]:
    challenge, group = proposal.challenge, proposal.group
    subject = gettext(
        "Introduction: %(group)s for “%(title)s”", group=group.name, title=challenge.title
    )
    body = "\n\n".join(
        [
            gettext("Hello,"),
            gettext(
                "the innovation office introduces you to %(group)s (%(institution)s) for your "
                "challenge “%(title)s”.",
                group=group.name,
                institution=group.institution.name,
                title=challenge.title,
            ),
            _contact_lines(contact),
            gettext("Your challenge in Matchmaker: %(url)s", url=link),
            gettext(
                "The group can now read your confidential details. We look forward to hearing "
                "how the talks go."
            ),
            gettext("Matchmaker — Innovation office"),
        ]
    )
    return subject, body


def _group_mail(proposal: Proposal, contact: Contact, link: str) -> tuple[str, str]:
    challenge = proposal.challenge
    company = challenge.organisation.name
    subject = gettext(
        "Introduction: “%(title)s” (%(company)s)", title=challenge.title, company=company
    )
    body = "\n\n".join(
        [
            gettext("Hello,"),
            gettext(
                "the innovation office introduces your group to %(company)s for the challenge "
                "“%(title)s”.",
                company=company,
                title=challenge.title,
            ),
            _contact_lines(contact),
            gettext(
                "The challenge, with its confidential details, in Matchmaker: %(url)s", url=link
            ),
            gettext("Matchmaker — Innovation office"),
        ]
    )
    return subject, body


def introduction_mails(session: Session, proposal: Proposal, public_url: str) -> list[Mail]:
    """The e-mails of an introduction: per party, one per language of its recipients.

    A party without any address gets none; :attr:`Mail.party` tells the caller who got what.
    """
    link = f"{public_url.rstrip('/')}/challenges/{proposal.challenge_id}"
    contacts = {
        COMPANY: group_contact(session, proposal.group),  # what the company reads
        GROUP: company_contact(session, proposal.challenge),
    }
    compose = {COMPANY: _company_mail, GROUP: _group_mail}
    mails: list[Mail] = []
    for party, addresses in _recipients(session, proposal).items():
        by_language: dict[str, list[str]] = defaultdict(list)
        for address, language in addresses.items():
            by_language[language].append(address)
        for language in sorted(by_language):
            with force_locale(language):
                subject, body = compose[party](proposal, contacts[party], link)
            mails.append(Mail(tuple(sorted(by_language[language])), subject, body, party=party))
    return mails
