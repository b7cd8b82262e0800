"""A real server on a free localhost port, a real SQLite file with the sample data, and Debian's
Chromium driven by Playwright. Screenshots of the main pages go to ``tests/artifacts/``."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from matchmaker import create_app
from matchmaker.accounts.models import Role
from matchmaker.accounts.service import create_user
from matchmaker.cli import run_migrations
from matchmaker.config import Settings
from matchmaker.db import session_scope

CHROMIUM = os.environ.get("MATCHMAKER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PASSWORD = "browser-test-password"

pytestmark = pytest.mark.browser


@dataclass
class Site:
    """The running server and who can sign in to it."""

    app: Flask
    url: str
    settings: Settings
    company_email: str
    company_name: str
    group_email: str
    group_name: str
    group_id: int
    office_email: str

    def outbox(self) -> list[Path]:
        return sorted(Path(self.settings.outbox_dir).glob("*.eml"))


def _seed(app: Flask) -> dict[str, Any]:
    from matchmaker.groups.models import ResearchGroup
    from matchmaker.organisations.models import Organisation
    from matchmaker.seed import load_sample_data

    with session_scope(app) as s:
        load_sample_data(s)
    with session_scope(app) as s:
        company = s.scalar(select(Organisation).where(Organisation.seed_key == "elbwerk-kupfer"))
        group = s.scalar(select(ResearchGroup).order_by(ResearchGroup.id))
        assert company is not None and group is not None
        create_user(
            s,
            email="energie@elbwerk.example",
            role=Role.COMPANY,
            organisation=company.name,
            password=PASSWORD,
            name="Katrin Albers",
        )
        create_user(
            s,
            email="lab@uni.example",
            role=Role.GROUP,
            organisation=group.institution.name,
            password=PASSWORD,
            group_id=group.id,
            name="Jana Petersen",
        )
        create_user(
            s,
            email="office@hamburg.example",
            role=Role.OFFICE,
            password=PASSWORD,
            name="Innovationsstelle",
        )
        return {"company_name": company.name, "group_name": group.name, "group_id": group.id}


# Module scope: the server and the browser end with the journeys' module instead of living until
# the end of the session, where a closing Playwright driver once hung the run (session 2).
@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[Site]:
    """The app served by werkzeug in a thread, on a migrated SQLite file with the sample data."""
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (`make browser` installs the chromium package)"
        if os.environ.get("MATCHMAKER_REQUIRE_BROWSER") == "1":
            pytest.fail(message)  # CI: a skipped browser test would hide a broken journey
        pytest.skip(message)
    root = tmp_path_factory.mktemp("site")
    url = f"sqlite:///{root / 'matchmaker.sqlite3'}"
    run_migrations(url)
    settings = Settings.from_env(
        {}, database_url=url, secret_key="browser-test-secret", outbox_dir=str(root / "outbox")
    )
    app = create_app(settings, embedder=embedder)
    names = _seed(app)
    with app.app_context():
        # Build the search index once, as a long-running server has it; the first build encodes
        # every sample profile and would otherwise land in the first journey's time budget.
        from matchmaker.db import get_session
        from matchmaker.matching.engine import get_matcher

        get_matcher().indexes(get_session())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, name="matchmaker-test-server", daemon=True
    )
    thread.start()
    try:
        yield Site(
            app=app,
            url=f"http://127.0.0.1:{server.server_port}",
            settings=settings,
            company_email="energie@elbwerk.example",
            group_email="lab@uni.example",
            office_email="office@hamburg.example",
            **names,
        )
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["matchmaker.engine"].dispose()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        if browser.is_connected():
            browser.close()


@pytest.fixture
def page(chromium: Any, site: Site) -> Iterator[Any]:
    """A fresh browser context (no cookies) at laptop size."""
    # A German browser: the pages follow Accept-Language when no language was chosen.
    context = chromium.new_context(
        viewport={"width": 1280, "height": 860},
        base_url=site.url,
        accept_downloads=True,
        locale="de-DE",
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def phone(chromium: Any, site: Site) -> Iterator[Any]:
    """A fresh browser context at 375 px wide, as on a phone."""
    context = chromium.new_context(
        viewport={"width": 375, "height": 740},
        base_url=site.url,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="de-DE",
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Any, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a user would."""
    page.goto("/login")
    page.get_by_label("E-Mail").fill(email)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_load_state()


def screenshot(page: Any, path: Path) -> Path:
    """A full-page screenshot at ``path``; where Chromium cannot capture the whole page (seen on
    a loaded machine: "Unable to capture screenshot"), the visible part instead."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        page.screenshot(path=str(path), full_page=True)
    except PlaywrightError:
        page.screenshot(path=str(path))
    return path


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under tests/artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return screenshot(page, ARTIFACTS / f"{name}.png")


def no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def proposal_at(site: Site, nth: int, status: Any, score: float) -> tuple[int, int, str]:
    """Put the test group's proposal for the ``nth`` challenge of the test company at ``status``
    (made with ``score`` if there is none); its id, the challenge's id and title."""
    from matchmaker.challenges.models import Challenge
    from matchmaker.matching.models import Proposal
    from matchmaker.organisations.models import Organisation
    from tests import factories

    with session_scope(site.app) as s:
        company = s.scalar(select(Organisation).where(Organisation.name == site.company_name))
        assert company is not None
        challenge = s.scalars(
            select(Challenge).where(Challenge.organisation_id == company.id).order_by(Challenge.id)
        ).all()[nth]
        proposal = s.scalar(
            select(Proposal).where(
                Proposal.challenge_id == challenge.id, Proposal.group_id == site.group_id
            )
        )
        if proposal is None:
            proposal = factories.build_proposal(
                challenge_id=challenge.id,
                group_id=site.group_id,
                score=score,
                components={"semantic": 0.7, "interest": 0.5},
            )
            s.add(proposal)
        proposal.status = status
        s.flush()
        return proposal.id, challenge.id, challenge.title
