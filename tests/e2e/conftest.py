"""The browser journey: `streamlit run app.py` on a free port with a fresh
workspace, driven by Playwright in Debian's Chromium.

Playwright cannot download a browser here, so the tests use /usr/bin/chromium
(or $DUNNING_CHROMIUM). Without it they are skipped with a message, except under CI
(CI=true), where a missing browser fails the run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Screenshots for the README are kept only when asked (make screenshots).
SCREENSHOTS = os.environ.get("DUNNING_SCREENSHOTS")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT_S = 90


def chromium_path() -> str | None:
    configured = os.environ.get("DUNNING_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (required under CI=true: apt-get install chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run."""
    executable = chromium_path()
    if executable is None:
        _missing("Chromium not found: install Debian's chromium package")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed: pip install -r requirements-dev.txt")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A `streamlit run app.py` process of the test's own."""

    def __init__(self, workspace: Path, log: Path, env: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workspace = workspace
        self.log = log
        command = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.headless", "true",
            "--server.port", str(self.port),
            "--server.address", "127.0.0.1",
            "--browser.gatherUsageStats", "false",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env, "DUNNING_DB": str(workspace)},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"streamlit did not start within {START_TIMEOUT_S} s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def server_env() -> dict[str, str]:
    """Extra environment for the server; tests add SMTP settings here."""
    return {}


@pytest.fixture
def server(tmp_path, server_env) -> Iterator[Server]:
    """The app on a fresh, empty workspace (it builds the demo on first open)."""
    running = Server(
        tmp_path / "workspace.duckdb", tmp_path / "streamlit.log", server_env
    )
    yield running
    running.stop()


@pytest.fixture(scope="session")
def demo_copy(tmp_path_factory) -> Callable[[Path], Path]:
    """Copies of one demo workspace, built by the CLI on first use, so that a server
    started on a copy skips the build."""
    built = tmp_path_factory.mktemp("demo_workspace") / "workspace.duckdb"

    def copy(target: Path) -> Path:
        if not built.exists():
            command = [sys.executable, "-m", "dunning", "demo", "--db", str(built)]
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        shutil.copyfile(built, target)
        return target

    return copy


@pytest.fixture
def fresh_server(tmp_path, demo_copy) -> Iterator[Server]:
    """The app on the demo workspace, started for this test: no browser has asked it
    for anything yet, so the test's first request is the process's first."""
    workspace = demo_copy(tmp_path / "workspace.duckdb")
    running = Server(workspace, tmp_path / "streamlit.log", {})
    yield running
    running.stop()


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory) -> Iterator[Server]:
    """One app on the demo workspace, for tests that only look."""
    folder = tmp_path_factory.mktemp("demo_server")
    running = Server(folder / "workspace.duckdb", folder / "streamlit.log", {})
    yield running
    running.stop()


def _new_page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(60_000)
    return context, opened


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing browser test leaves a screenshot of the screen it failed on, taken
    at once, while its server still runs."""
    report = yield
    opened = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and opened is not None:
        folder = item.config._tmp_path_factory.getbasetemp() / "failures"
        folder.mkdir(exist_ok=True)
        shot = folder / f"{item.name}.png"
        opened.screenshot(path=str(shot), full_page=True)
        report.sections.append(("screenshot", f"screenshot of the failure: {shot}"))
    return report


@pytest.fixture
def page(browser):
    """A fresh browser tab (its own session) for one test."""
    context, opened = _new_page(browser)
    yield opened
    context.close()


def settle(page) -> None:
    """Wait until Streamlit has run app.py for this page and is idle again."""
    page.wait_for_selector('[data-testid="stSidebar"] >> text=As-of date')
    page.wait_for_function(
        """() => {
            const status = document.querySelector('[data-testid="stStatusWidget"]');
            return !status || !/Running/.test(status.innerText);
        }"""
    )
    page.wait_for_timeout(500)


def no_exception(page) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()


def screenshot(page, name: str) -> None:
    """Keep a screenshot of the screen for the README, when asked to."""
    if not SCREENSHOTS:
        return
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=False)
