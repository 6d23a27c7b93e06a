"""Real headless Chromium for the web page tests: Debian's `chromium`, driven by Selenium.

Why Selenium with Debian's `chromium-driver` (and not Playwright or raw DevTools): Debian builds
`chromedriver` from the same source and version as its `chromium`, so the driver always matches
the browser `.ci/run` installs, and with the driver's path given Selenium never runs Selenium
Manager (nothing is downloaded). Playwright is pinned to the one Chromium build it ships and only
"may work" with another version (the DevTools protocol moves); a hand-written DevTools client
would be ours to maintain. WebDriver is a W3C standard that both sides keep stable.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

BROWSERS = ("chromium", "chromium-browser")
T = TypeVar("T")


def chromium_or_skip() -> str:
    """The chromium binary; without one the test is skipped, saying why (CI installs it)."""
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        reason = ("no chromium binary on PATH: the web page tests need Debian's chromium and "
                  "chromium-driver (apt-get install chromium chromium-driver; .ci/run installs them)")
        print(reason)
        pytest.skip(reason)
    return found


@contextmanager
def chromium(profile: Path, *, width: int = 1100, height: int = 760) -> Iterator[Any]:
    """A headless Chromium under Selenium, with its own profile folder; quit on exit."""
    binary = chromium_or_skip()
    driver_path = shutil.which("chromedriver")
    if driver_path is None:
        pytest.fail("chromium is installed but chromedriver is not: apt-get install chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    # --no-sandbox: CI runs as root, where Chromium refuses its sandbox; the page is our own.
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--no-first-run", "--disable-extensions", "--lang=tr-TR", f"--window-size={width},{height}",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def until(driver: Any, condition: Callable[[Any], T], what: str, timeout: float = 60) -> T:
    """Wait for a DOM condition (a deadline, not a measurement); the failure names what never showed."""
    from selenium.webdriver.support.ui import WebDriverWait

    result: T = WebDriverWait(driver, timeout, poll_frequency=0.05).until(
        condition, message=f"the page never showed {what}")
    return result


def text_of(driver: Any, element: Any) -> str:
    """An element's textContent exactly (Selenium's .text trims and collapses white space)."""
    value: str = driver.execute_script("return arguments[0].textContent", element)
    return value


def open_page(driver: Any, url: str) -> Any:
    """Load the page at ``url`` (a fresh conversation) and wait until its model list is in."""
    driver.get(f"{url}/")
    until(driver, lambda d: d.execute_script("return document.getElementById('model').dataset.loaded"),
          "the model list")
    return driver


def answers(driver: Any) -> list[Any]:
    """The answers on the page, oldest first."""
    return list(driver.find_elements("css selector", "#log article.msg.assistant"))


def send(driver: Any, text: str) -> None:
    """Type ``text`` into the message box and press Send."""
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.ID, "input")
    box.clear()
    box.send_keys(text)
    driver.find_element(By.ID, "send").click()


def answered(driver: Any, count: int, timeout: float = 60) -> Any:
    """The ``count``-th answer once finished: its badge is shown."""
    def done(d: Any) -> Any:
        found = answers(d)
        if len(found) >= count and found[count - 1].find_element("css selector", ".badge").is_displayed():
            return found[count - 1]
        return None

    return until(driver, done, f"answer {count} with its badge", timeout)
