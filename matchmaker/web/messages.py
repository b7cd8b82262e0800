"""What pages say for the API's validation errors and the services' messages, in the page's
language: pydantic's error types (:data:`TYPE_MESSAGES`) and the services' English messages
(:data:`VALUE_ERRORS`), each translated once here."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext

#: pydantic's error types.
TYPE_MESSAGES: dict[str, Any] = {
    "missing": lazy_gettext("Please fill in this field."),
    "string_too_short": lazy_gettext("Please fill in this field."),
    "string_too_long": lazy_gettext("This text is too long."),
    "too_short": lazy_gettext("Choose at least one."),
    "too_long": lazy_gettext("Too many entries."),
    "int_parsing": lazy_gettext("Enter a whole number."),
    "int_type": lazy_gettext("Enter a whole number."),
    "int_from_float": lazy_gettext("Enter a whole number."),
    "float_parsing": lazy_gettext("Enter a number."),
    "float_type": lazy_gettext("Enter a number."),
    "date_parsing": lazy_gettext("Enter a date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": lazy_gettext("Enter a date (YYYY-MM-DD)."),
    "date_type": lazy_gettext("Enter a date (YYYY-MM-DD)."),
    "enum": lazy_gettext("Choose one of the options."),
    "literal_error": lazy_gettext("Choose one of the options."),
    "value_error.email": lazy_gettext("Enter an e-mail address."),
}

#: The services' and schemas' English messages (their ends), as pages say them: the one table
#: of it (a service names the field; the page puts this beside it).
VALUE_ERRORS: dict[str, Any] = {
    "must not be empty": lazy_gettext("Please fill in this field."),
    "must be a single line": lazy_gettext("Use a single line."),
    "must not contain control characters": lazy_gettext("Remove the control characters."),
    "must not contain bidirectional control characters": lazy_gettext(
        "Remove the text direction control characters."
    ),
    "must be at least trl_now": lazy_gettext("Must be at least the TRL today."),
    "must be at least trl_min": lazy_gettext("Must be at least the lowest TRL."),
    "must be between 0 and 1": lazy_gettext("Must be between 0 and 1."),
    "must not be before 2000-01-01": lazy_gettext("Enter a date from 1 January 2000 on."),
    "must be at most 20 years ahead": lazy_gettext("Enter a date at most 20 years ahead."),
    "must not be in the past": lazy_gettext("The deadline must not be in the past."),
    # The accounts service's.
    "already registered": lazy_gettext("A user with this e-mail address exists already."),
    "user needs an organisation": lazy_gettext(
        "This role needs an organisation: a company for a company user, an institution for a "
        "group user."
    ),
    "user belongs to a company": lazy_gettext("A company user belongs to a company."),
    "user belongs to a institution": lazy_gettext(
        "A group user belongs to a research institution."
    ),
    "only a group user belongs to a research group": lazy_gettext(
        "Only a group user belongs to a research group."
    ),
    "belongs to another institution": lazy_gettext(
        "This research group belongs to another institution."
    ),
    "not on your own account": lazy_gettext("You cannot change this on your own account."),
    "must be an e-mail address": lazy_gettext("Enter an e-mail address."),
}


def known_message(message: str) -> str:
    """The page's words for a service's English ``message`` ("" when none is known)."""
    for english, translated in VALUE_ERRORS.items():
        if message.endswith(english):
            return str(translated)
    return ""


def translate_message(message: str) -> str:
    """A service's English message in the page's language, where a translation is known."""
    return known_message(message) or message
