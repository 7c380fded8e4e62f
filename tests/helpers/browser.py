"""Headless Chromium through Playwright for the browser tests, or a skip saying what is missing.

A test module gets the `browser` fixture by importing it: `from tests.helpers.browser import
chromium  # noqa: F401`. (The function is named apart from the fixture, so tests taking `browser`
do not redefine an imported name.) With INTERVIEWS_TEST_REQUIRE_ALL=1 a missing browser fails
instead of skipping.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is absent (Debian's chromium package)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module", name="browser")
def chromium():
    reason = missing()
    if reason:
        if os.environ.get("INTERVIEWS_TEST_REQUIRE_ALL") == "1":
            pytest.fail(f"INTERVIEWS_TEST_REQUIRE_ALL=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            launched.close()
