"""Steps for the web page scenarios of features/serve.feature, in real headless Chromium.

Imported by tests/bdd/test_serve.py (pytest-bdd finds steps in the test module); the browser is
started once for the module, each scenario loads the page afresh from its own server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository
from tests.browser import answered, chromium, open_page, send, text_of, until


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium")) as driver:
        yield driver


@given("the page is open in a browser", target_fixture="page")
def page_open(browser: Any, server: str) -> Any:
    return open_page(browser, server)


@when(parsers.parse('I send "{text}" on the page'))
def send_on_page(page: Any, text: str) -> None:
    count = len(page.find_elements("css selector", "#log article.msg.assistant"))
    send(page, text)
    answered(page, count + 1)


def _last_answer(page: Any) -> Any:
    return page.find_elements("css selector", "#log article.msg.assistant")[-1]


@then("the answer appears under my message with its intent, adapter and confidence")
def answer_with_badge(page: Any) -> None:
    kinds = page.execute_script("return [...document.querySelectorAll('#log article')].map(a => a.className)")
    assert kinds == ["msg user", "msg assistant"]
    badge = _last_answer(page).find_element("css selector", ".badge").text
    intent, adapter, confidence = badge.split(" · ")[:3]
    assert intent and adapter and confidence.endswith("%")


@then(parsers.parse('the page\'s answer is stored as a turn from "{source}"'))
def page_turn_stored(page: Any, home: Path, source: str) -> None:
    answer = _last_answer(page)
    turn = SqliteFeedbackRepository(home / "evotr.db").get_turn(answer.get_attribute("data-turn-id"))
    assert turn is not None and turn.source == source
    assert turn.reply == text_of(page, answer.find_element("css selector", ".text"))


@when(parsers.parse("I click 👍 under answer {number:d}"))
def thumbs_up(page: Any, number: int) -> None:
    answer = answered(page, number)
    answer.find_element("css selector", ".good").click()
    until(page, lambda d: "👍" in answer.find_element("css selector", ".status").text, "👍 stored")


@when(parsers.parse('I correct answer {number:d} on the page to "{text}"'))
def correct(page: Any, number: int, text: str) -> None:
    answer = answered(page, number)
    answer.find_element("css selector", ".fix").click()
    until(page, lambda d: d.execute_script("return document.getElementById('correct-dialog').open"),
          "the correction dialog")
    box = page.find_element("id", "correct-text")
    box.clear()
    box.send_keys(text)
    page.find_element("id", "correct-save").click()
    until(page, lambda d: "✏️" in answer.find_element("css selector", ".status").text, "the correction stored")


@then(parsers.parse("the page's stats show {up:d} 👍 and {fixed:d} ✏️"))
def page_stats(page: Any, up: int, fixed: int) -> None:
    until(page, lambda d: d.find_element("id", "stats").text.startswith(f"👍 {up} · 👎 0 · ✏️ {fixed}"),
          f"the stats 👍 {up} and ✏️ {fixed}")


@then(parsers.parse('my message and the answer show "{text}" as text'))
def shown_as_text(page: Any, text: str) -> None:
    assert text_of(page, page.find_element("css selector", "#log article.msg.user")) == text
    assert text in text_of(page, _last_answer(page).find_element("css selector", ".text"))


@then("the page made no image and opened no alert")
def nothing_ran(page: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    assert page.execute_script("return document.querySelectorAll('#log img').length") == 0
    with pytest.raises(NoAlertPresentException):
        page.switch_to.alert.text  # noqa: B018 (an open alert would mean the markup ran)


@then(parsers.parse('the adapter selector offers "{labels}"'))
def selector_offers(page: Any, labels: str) -> None:
    shown = page.execute_script("return [...document.querySelectorAll('#model option')].map(o => o.text)")
    assert shown == labels.split(", ")


@when(parsers.parse('I choose "{label}" in the adapter selector and send "{text}" on the page'))
def choose_and_send(page: Any, label: str, text: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(page.find_element("id", "model")).select_by_visible_text(label)
    send_on_page(page, text)


@then(parsers.parse('the page\'s answer was made with adapter "{adapter}"'))
def made_with(page: Any, home: Path, adapter: str) -> None:
    turn_id = _last_answer(page).get_attribute("data-turn-id")
    turn = SqliteFeedbackRepository(home / "evotr.db").get_turn(turn_id)
    assert turn is not None and turn.adapter is not None and turn.adapter.name == adapter
    assert f" · {adapter} · " in _last_answer(page).find_element("css selector", ".badge").text
