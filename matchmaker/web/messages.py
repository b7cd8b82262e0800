"""What pages say for the schemas' and the services' errors, in the page's language, by code:
pydantic's own error types (:data:`TYPE_MESSAGES`) and the codes of the schemas' rules and of
the domain's errors (:data:`CODE_MESSAGES`), each translated once here."""

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

#: The codes of the domain's errors (:mod:`matchmaker.errors`) and of the schemas' own rules
#: (their pydantic error types), as pages say them: the one table of it (an error names its
#: field; the page puts this beside it). A code not here shows its English message.
CODE_MESSAGES: dict[str, Any] = {
    # The schemas' rules.
    "blank": lazy_gettext("Please fill in this field."),
    "multiple_lines": lazy_gettext("Use a single line."),
    "control_characters": lazy_gettext("Remove the control characters."),
    "bidi_characters": lazy_gettext("Remove the text direction control characters."),
    "weight_range": lazy_gettext("Must be between 0 and 1."),
    "deadline_too_early": lazy_gettext("Enter a date from 1 January 2000 on."),
    "deadline_too_late": lazy_gettext("Enter a date at most 20 years ahead."),
    # The schemas' and the services' alike.
    "trl_target_below_now": lazy_gettext("Must be at least the TRL today."),
    "trl_max_below_min": lazy_gettext("Must be at least the lowest TRL."),
    # The services'.
    "deadline_in_past": lazy_gettext("The deadline must not be in the past."),
    "email_taken": lazy_gettext("A user with this e-mail address exists already."),
    "email_invalid": lazy_gettext("Enter an e-mail address."),
    "organisation_required": lazy_gettext(
        "This role needs an organisation: a company for a company user, an institution for a "
        "group user."
    ),
    "company_user_organisation_kind": lazy_gettext("A company user belongs to a company."),
    "group_user_organisation_kind": lazy_gettext("A group user belongs to a research institution."),
    "group_role_only": lazy_gettext("Only a group user belongs to a research group."),
    "group_of_other_institution": lazy_gettext(
        "This research group belongs to another institution."
    ),
    "no_such_group": lazy_gettext("Choose one of the options."),  # gone since the form was read
    "no_such_organisation": lazy_gettext("Choose one of the options."),
    "own_account": lazy_gettext("You cannot change this on your own account."),
    "party_step": lazy_gettext("This step is not yours to report now."),
    "reason_not_allowed": lazy_gettext("Choose one of the reasons."),
    "reason_required": lazy_gettext("Please say why the challenge is not for your group."),
    "note_office_only": lazy_gettext("Only the innovation office writes notes."),
}


def error_text(code: str, message: str) -> str:
    """The page's words for an error's ``code``, else its English ``message``."""
    text = CODE_MESSAGES.get(code)
    return message if text is None else str(text)
