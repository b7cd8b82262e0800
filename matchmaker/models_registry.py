"""Imports every ORM module so that ``Base.metadata`` knows all tables (Alembic, tests)."""

from matchmaker.accounts import models as accounts  # noqa: F401
from matchmaker.api import models as api  # noqa: F401  (idempotency keys)
from matchmaker.audit import models as audit  # noqa: F401
from matchmaker.challenges import models as challenges  # noqa: F401
from matchmaker.groups import models as groups  # noqa: F401
from matchmaker.imports import models as imports  # noqa: F401
from matchmaker.jobs import models as jobs  # noqa: F401
from matchmaker.learning import models as learning  # noqa: F401
from matchmaker.matching import models as matching  # noqa: F401
from matchmaker.organisations import models as organisations  # noqa: F401
from matchmaker.review import models as review  # noqa: F401
from matchmaker.strategy import models as strategy  # noqa: F401
