"""Test data per domain, made through the real services and the ORM.

One module per domain, each factory with defaults and keyword overrides; factories of a
dependent row make the row they depend on when it is not given (a group its institution, a
proposal its group). ``build_*`` returns an unsaved row for a test's own session.
"""

from tests.factories.accounts import account, user
from tests.factories.challenges import challenge_body
from tests.factories.groups import build_research_group, group_body, research_group
from tests.factories.matching import build_proposal, proposal
from tests.factories.organisations import organisation

__all__ = [
    "account",
    "build_proposal",
    "build_research_group",
    "challenge_body",
    "group_body",
    "organisation",
    "proposal",
    "research_group",
    "user",
]
