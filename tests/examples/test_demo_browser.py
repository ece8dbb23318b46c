"""The demo in a real browser: headless Chromium driven by Selenium over loopback.

The app runs in a real HTTP server (werkzeug's, in a thread, on a free loopback port) and the
browser is Debian's ``chromium`` with its ``chromium-driver``, both given by path so Selenium
Manager never looks for (or downloads) a browser or driver. ``scripts/test.sh`` installs the two
packages; without them the test is skipped, or fails when ``CI`` is set.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import BaseWSGIServer, make_server

from examples.demo.app import create_app
from tests.servers import _missing_binary

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_SECONDS = 15


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    """The demo served on a free loopback port; yields its base URL."""
    app: Flask = create_app({"DATA_DIR": str(tmp_path / "data")})
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="demo-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["sqlspec_spec"].close_all_pools()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if shutil.which(path) is None:
            _missing_binary(path, f"apt-get install -y {package}")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",  # runs as root in CI containers
        "--disable-gpu",
        "--disable-dev-shm-usage",  # small /dev/shm in containers
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1100,900",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def submit_user(browser: WebDriver, email: str, name: str) -> None:
    form = browser.find_element(By.ID, "add-user")
    for field, value in (("email", email), ("name", name)):
        element = form.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    old_page = browser.find_element(By.TAG_NAME, "html")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, WAIT_SECONDS).until(expected_conditions.staleness_of(old_page))


def text_of(browser: WebDriver, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def test_add_user_duplicate_and_invalid_email_in_a_browser(
    demo: str, browser: WebDriver, tmp_path: Path
) -> None:
    browser.get(demo + "/")
    assert browser.title == "sqlspec demo"
    assert (text_of(browser, "user-total"), text_of(browser, "event-total")) == ("0", "0")

    # Add a user: a confirmation and the new row.
    submit_user(browser, "ada@example.com", "Ada Lovelace")
    flash = browser.find_element(By.CSS_SELECTOR, ".flash.success").text
    assert flash == "Added Ada Lovelace <ada@example.com> as user #1."
    cells = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#user-1 td")][:4]
    assert cells == ["1", "Ada Lovelace", "ada@example.com", "1"]
    assert "/?created=1" in browser.current_url
    browser.save_screenshot(str(tmp_path / "added.png"))

    # The same email again: a message next to the email field, what was typed kept.
    submit_user(browser, "ada@example.com", "Another Ada")
    assert text_of(browser, "email-error") == "ada@example.com is already registered."
    assert browser.find_element(By.ID, "name").get_attribute("value") == "Another Ada"
    assert browser.find_elements(By.CSS_SELECTOR, ".flash") == []

    # An invalid email: its own message; nothing stored.
    submit_user(browser, "not-an-email", "Bob")
    assert text_of(browser, "email-error") == "Enter an email address like ada@example.com."
    assert browser.find_elements(By.ID, "name-error") == []
    assert text_of(browser, "user-total") == "1"
    browser.save_screenshot(str(tmp_path / "invalid.png"))

    # The dashboard, reached by its link: one user, one signup event.
    browser.find_element(By.CSS_SELECTOR, "a.brand").click()
    WebDriverWait(browser, WAIT_SECONDS).until(expected_conditions.url_to_be(demo + "/"))
    assert (text_of(browser, "user-total"), text_of(browser, "event-total")) == ("1", "1")
    assert [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#kinds li")] == ["signup 1"]
    assert browser.find_elements(By.CSS_SELECTOR, ".error") == []

    # The API links lead to JSON.
    browser.find_element(By.LINK_TEXT, "/health").click()
    WebDriverWait(browser, WAIT_SECONDS).until(expected_conditions.url_to_be(demo + "/health"))
    health = json.loads(browser.find_element(By.TAG_NAME, "body").text)
    assert set(health["pools"]) == {"users_db", "events_db"}
