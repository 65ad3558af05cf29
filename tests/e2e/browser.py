"""The real browser the console and widget tests drive: Debian's chromium (scripts/setup.sh
installs it) through Playwright, and what those tests share (signing in, screenshots)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import REPOSITORY
from servers import ADMIN_KEY

SCREENSHOTS = REPOSITORY / "test-results" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 820, "height": 1180}
WIDGET_KEY = "widget-key-public-0123"
WIDGET_ORIGIN = "https://shop.example"


def chromium_path() -> str:
    """The chromium to drive; fails (never skips) when it or Playwright is missing, so a CI run
    without them is red, not silently smaller."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("the browser tests need Playwright (the test extra): run bash scripts/setup.sh")
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("the browser tests need Debian's chromium: run bash scripts/setup.sh "
                    "(apt-get install chromium), or deselect them with -m 'not browser'")
    return path


def screenshot(page, name: str) -> Path:
    """Save the page as test-results/screenshots/<name>.png (full page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_job(page) -> None:
    """Wait until the page's ingest job is done, then reload: console.js reloads the page
    itself when it sees the job finish, and a check made between the two would read the page
    drawn before the job."""
    page.get_by_test_id("job-status").filter(has_text="done").wait_for(timeout=120_000)
    page.reload()


def sign_in(page, url: str, path: str = "/console", key: str = ADMIN_KEY) -> None:
    page.goto(url + path)
    page.get_by_test_id("login-key").fill(key)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("nav-dashboard").wait_for()
