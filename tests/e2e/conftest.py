"""The servers the end-to-end tests share, started once per session (servers.py starts them).

Server A has client and admin keys and a small knowledge folder (built by the service at
start); server B runs on a copy of A's index in open mode (no keys), with a tiny session TTL
and a tight rate limit. The console server, for the browser tests, has a widget key too and
its own index (those tests teach it). One chromium serves every browser test. Tests leave knowledge behind (uploads, reviewed entries), so a test
asks about entries of helpers.FAQ and POLICY, which stay.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from browser import DESKTOP, WIDGET_KEY, WIDGET_ORIGIN, chromium_path
from helpers import write_knowledge
from servers import (
    ADMIN_KEY,
    B_BURST,
    B_TTL_MINUTES,
    CLIENT_KEY,
    CORS_ORIGIN,
    MAX_BODY_BYTES,
    MAX_QUESTION_CHARS,
    UPLOAD_MAX_BYTES,
    Server,
    start,
    stop,
)


@pytest.fixture(scope="session")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("service")


@pytest.fixture(scope="session")
def knowledge(root: Path) -> Path:
    return write_knowledge(root / "knowledge")


@pytest.fixture(scope="session")
def server(root: Path, knowledge: Path):
    """Server A: keys, a knowledge folder, an index it builds itself at start."""
    server = start(root, "a", root / "index-a", knowledge, {
        "CS_RAG_API_KEYS": f"{CLIENT_KEY}, another-client-key",
        "CS_RAG_ADMIN_KEYS": ADMIN_KEY,
        "CS_RAG_SERVICE_MAX_QUESTION_CHARS": str(MAX_QUESTION_CHARS),
        "CS_RAG_SERVICE_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "CS_RAG_SERVICE_UPLOAD_MAX_BYTES": str(UPLOAD_MAX_BYTES),
        "CS_RAG_SERVICE_RATE_LIMIT_PER_MINUTE": "1000000",
        "CS_RAG_SERVICE_RATE_LIMIT_BURST": "100000",
        "CS_RAG_SERVICE_CUSTOMER_RATE_LIMIT_PER_MINUTE": "0",
        "CS_RAG_SERVICE_CORS_ORIGINS": CORS_ORIGIN,
    })
    yield server
    stop(server)


@pytest.fixture(scope="session")
def open_server(root: Path, knowledge: Path, server: Server):
    """Server B: no keys at all, sessions ending after 1.8 s, a burst of B_BURST requests."""
    index = root / "index-b"
    shutil.copytree(server.index_dir, index, ignore=shutil.ignore_patterns(".lock"))
    server_b = start(root, "b", index, knowledge, {
        "CS_RAG_SERVICE_SESSION_TTL_MINUTES": str(B_TTL_MINUTES),
        "CS_RAG_SERVICE_RATE_LIMIT_PER_MINUTE": "120",
        "CS_RAG_SERVICE_RATE_LIMIT_BURST": str(B_BURST),
    })
    yield server_b
    stop(server_b)


@pytest.fixture(scope="session")
def console_server(root: Path, knowledge: Path):
    """The server the browser tests drive: client, admin and widget keys, its own index."""
    server = start(root, "console", root / "index-console", knowledge, {
        "CS_RAG_API_KEYS": CLIENT_KEY,
        "CS_RAG_ADMIN_KEYS": ADMIN_KEY,
        "CS_RAG_WIDGET_KEYS": WIDGET_KEY,
        "CS_RAG_SERVICE_WIDGET_ORIGINS": WIDGET_ORIGIN,
        "CS_RAG_SERVICE_WIDGET_RATE_LIMIT_PER_MINUTE": "6000",
        "CS_RAG_SERVICE_WIDGET_RATE_LIMIT_BURST": "1000",
        "CS_RAG_SERVICE_RATE_LIMIT_PER_MINUTE": "1000000",
        "CS_RAG_SERVICE_RATE_LIMIT_BURST": "100000",
        "CS_RAG_SERVICE_CUSTOMER_RATE_LIMIT_PER_MINUTE": "0",
        "CS_RAG_SERVICE_UPLOAD_MAX_BYTES": str(UPLOAD_MAX_BYTES),
    })
    yield server
    stop(server)


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium under Playwright, launched once per test module: Playwright's sync API
    keeps an event loop running in the main thread while it is open, and later tests that
    call asyncio.run (tests/integrations) must not find one."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh desktop-sized page (its own cookies and storage) per test."""
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()
