"""The web page of `evotr serve` in real headless Chromium, on a real uvicorn and the tiny MLX model.

One Chromium and one server for the module; every wait is for a DOM condition with a deadline.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from click.testing import CliRunner

from evotr.domain.conversation import Message, Role
from evotr.domain.feedback import FeedbackKind
from evotr.entrypoints.cli.main import main
from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model
from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository
from tests.adapter_fixtures import write_fake_mlx_adapter
from tests.browser import answered, answers, chromium, chromium_or_skip, open_page, send, text_of, until
from tests.compare_fixtures import store_adapter, tiny_home
from tests.serve_fixtures import GatedLLM, serving

pytestmark = [pytest.mark.integration, pytest.mark.slow]

XSS = "<img src=x onerror=alert(1)>"
# What the model "answers" to a message with markup: tags a page using innerHTML would turn into elements.
MARKUP_REPLY = ("<b>kalın</b> ", "<img src=x onerror=alert(2)>", " <script>alert(3)</script>")


class MarkupLLM:
    """The tiny model, except that a message containing "<img" is answered with markup, piece by piece."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def stream(self, messages: Sequence[Message], params: Any, adapter: Any = None) -> Iterator[str]:
        last = next(m.content for m in reversed(messages) if m.role is Role.USER)
        if "<img" in last:
            yield from MARKUP_REPLY
            return
        # Empty pieces (a split character) show nothing: skip them, so the first piece is visible.
        yield from (piece for piece in self._inner.stream(messages, params, adapter) if piece)


@attrs.frozen
class Site:
    url: str
    home: Path
    llm: GatedLLM

    def turn(self, turn_id: str) -> Any:
        turn = SqliteFeedbackRepository(self.home / "evotr.db").get_turn(turn_id)
        assert turn is not None, f"turn {turn_id} was not stored"
        return turn


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    chromium_or_skip()  # before the model and the server: a skip costs nothing
    with chromium(tmp_path_factory.mktemp("chromium")) as driver:
        yield driver


@pytest.fixture(scope="module")
def site(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A tiny-model home (tr_chat_v1 active, answers of at most 24 tokens) served on a free port."""
    root = tmp_path_factory.mktemp("serve_page")
    home = root / "home"
    tiny_home(home, ensure_tiny_model(root / "tiny"))
    config = home / "evotr.yaml"
    text = config.read_text("utf-8")
    assert "  max_tokens: 512" in text, "the shipped evotr.yaml no longer has sampling.max_tokens: 512"
    config.write_text(text.replace("  max_tokens: 512", "  max_tokens: 24"), "utf-8")
    from evotr.container import build_container

    container = build_container(home=home, env={})
    version = store_adapter(container, "tr_chat_v1", write_fake_mlx_adapter(root / "trained", seed=1))
    container.use_cases.promote_adapter().execute(version)
    gated: list[GatedLLM] = []

    def wrap(llm: Any) -> GatedLLM:
        gated.append(GatedLLM(MarkupLLM(llm)))
        return gated[0]

    with serving(container, wrap_llm=wrap) as url:
        yield Site(url, home, gated[0])


@pytest.fixture
def page(browser: Any, site: Site) -> Any:
    """The page freshly loaded (an empty conversation), its model list in."""
    site.llm.release.set()
    return open_page(browser, site.url)


def test_the_page_lists_the_models_of_the_api(page: Any, site: Site) -> None:
    listed = page.execute_script("return [...document.querySelectorAll('#model option')].map(o => o.value)")
    served = [m["id"] for m in httpx.get(f"{site.url}/v1/models").json()["data"]]
    assert listed == served
    assert served == ["evotr", "evotr:none", "evotr:python_coder", "evotr:tr_chat", "evotr:tr_chat_v1"]
    labels = page.execute_script("return [...document.querySelectorAll('#model option')].map(o => o.text)")
    assert labels[:2] == ["auto (yönlendirme)", "none (temel model)"] and "tr_chat → tr_chat_v1" in labels
    assert page.title == "EVO-TR" and "👍 0" in page.find_element("id", "stats").text


def test_an_answer_streams_in_then_shows_its_badge_and_takes_a_thumbs_down(page: Any, site: Site) -> None:
    site.llm.release.clear()  # the model stops after its first piece until the page has shown it
    send(page, "Merhaba, nasılsın?")
    assert site.llm.holding.wait(60), "the model was never asked"
    answer = until(page, lambda d: next((a for a in answers(d) if text_of(d, a.find_element(
        "css selector", ".text"))), None), "the first piece of the answer")
    partial = text_of(page, answer.find_element("css selector", ".text"))
    assert "streaming" in answer.get_attribute("class")
    assert not answer.find_element("css selector", ".badge").is_displayed()  # not finished yet
    site.llm.release.set()
    answer = answered(page, 1)
    final = text_of(page, answer.find_element("css selector", ".text"))
    turn = site.turn(answer.get_attribute("data-turn-id"))
    assert final.startswith(partial) and final == turn.reply and turn.source == "web"
    badge = answer.find_element("css selector", ".badge").text
    adapter = turn.adapter.name if turn.adapter else "temel model / base"
    assert badge == f"{turn.intent.value} · {adapter} · {round(turn.confidence * 100)}%" + (
        " · fallback" if turn.fallback else "")
    assert "streaming" not in answer.get_attribute("class")
    answer.find_element("css selector", ".bad").click()
    until(page, lambda d: "👎 kaydedildi" in answer.find_element("css selector", ".status").text, "👎 stored")
    rows = SqliteFeedbackRepository(site.home / "evotr.db").list_feedback(FeedbackKind.THUMBS_DOWN)
    assert [(f.turn_id, f.source) for f in rows] == [(turn.id, "web")]


def test_thumbs_up_and_a_correction_land_in_the_database(page: Any, site: Site, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    fixed = "Merhaba! İyiyim, teşekkürler. Size nasıl yardımcı olabilirim?"
    before = _cli_stats(site.home)
    send(page, "Merhaba")
    liked = answered(page, 1)
    liked.find_element(By.CSS_SELECTOR, ".good").click()
    until(page, lambda d: "👍 kaydedildi" in liked.find_element(By.CSS_SELECTOR, ".status").text, "👍 stored")
    send(page, "Nasılsın?")
    wrong = answered(page, 2)
    wrong.find_element(By.CSS_SELECTOR, ".fix").click()
    until(page, lambda d: d.execute_script("return document.getElementById('correct-dialog').open"),
          "the correction dialog")
    box = page.find_element(By.ID, "correct-text")
    # The dialog starts from the answer; a textarea turns \r and \r\n into \n (the tiny model writes them).
    shown = text_of(page, wrong.find_element(By.CSS_SELECTOR, ".text"))
    assert box.get_attribute("value") == shown.replace("\r\n", "\n").replace("\r", "\n")
    box.clear()
    box.send_keys(fixed)
    page.find_element(By.ID, "correct-save").click()
    until(page, lambda d: "✏️" in wrong.find_element(By.CSS_SELECTOR, ".status").text, "the correction stored")
    rows = {(f.turn_id, f.kind, f.correction, f.source)
            for f in SqliteFeedbackRepository(site.home / "evotr.db").list_feedback()}
    assert {(liked.get_attribute("data-turn-id"), FeedbackKind.THUMBS_UP, None, "web"),
            (wrong.get_attribute("data-turn-id"), FeedbackKind.CORRECTION, fixed, "web")} <= rows
    after = _cli_stats(site.home)
    assert (after["thumbs_up"], after["corrections"]) == (before["thumbs_up"] + 1, before["corrections"] + 1)
    shown = f"👍 {after['thumbs_up']} · 👎 {after['thumbs_down']} · ✏️ {after['corrections']}"
    until(page, lambda d: d.find_element(By.ID, "stats").text.startswith(shown), f"the stats {shown}")
    page.save_screenshot(str(tmp_path / "page.png"))
    assert (tmp_path / "page.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _cli_stats(home: Path) -> dict[str, Any]:
    """What `evotr feedback stats --json` prints for ``home``."""
    result = CliRunner().invoke(main, ["--home", str(home), "feedback", "stats", "--json"],
                                env={"EVOTR_HOME": None})
    assert result.exit_code == 0, result.output
    stats: dict[str, Any] = json.loads(result.stdout)
    return stats


def test_markup_from_the_user_or_the_model_is_shown_as_text(page: Any, site: Site) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    send(page, XSS)
    answer = answered(page, 1)
    assert text_of(page, page.find_element("css selector", "#log article.msg.user")) == XSS
    assert text_of(page, answer.find_element("css selector", ".text")) == "".join(MARKUP_REPLY)
    created = page.execute_script("return document.querySelectorAll('#log img, #log b, #log script').length")
    assert created == 0
    with pytest.raises(NoAlertPresentException):
        page.switch_to.alert.text  # noqa: B018 (an alert would mean the markup ran)


@pytest.mark.parametrize(("model", "adapter", "shown"), [
    ("evotr:none", None, "temel model / base"), ("evotr:tr_chat_v1", "tr_chat_v1", "tr_chat_v1")])
def test_the_selector_picks_the_adapter(page: Any, site: Site, model: str, adapter: str | None,
                                        shown: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(page.find_element("id", "model")).select_by_value(model)
    send(page, "Python'da liste nasıl sıralanır?")
    answer = answered(page, 1)
    turn = site.turn(answer.get_attribute("data-turn-id"))
    assert (turn.adapter.name if turn.adapter else None) == adapter
    assert f" · {shown} · " in answer.find_element("css selector", ".badge").text


def test_with_an_api_key_the_page_asks_for_it_once_then_works(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    from evotr.container import build_container
    from tests.cli_homes import memory_llm_home

    config = memory_llm_home(tmp_path / "home") / "evotr.yaml"  # in-memory LLM and router: no training
    config.write_text(config.read_text("utf-8").replace("classifier: ngram", "classifier: memory"), "utf-8")
    with serving(build_container(home=tmp_path / "home", env={}), api_key="s3cret-key") as url:
        browser.get(f"{url}/")
        until(browser, lambda d: d.find_element(By.ID, "key-bar").is_displayed(), "the API key field")
        assert "API key" in browser.find_element(By.ID, "error").text
        browser.find_element(By.ID, "api-key").send_keys("s3cret-key")
        browser.find_element(By.ID, "key-save").click()
        until(browser, lambda d: d.execute_script("return document.getElementById('model').dataset.loaded"),
              "the model list after the key")
        send(browser, "Merhaba")
        assert "Mesajını aldım: Merhaba" in text_of(browser, answered(browser, 1).find_element(
            By.CSS_SELECTOR, ".text"))
        assert not browser.find_element(By.ID, "error").is_displayed()
    browser.execute_script("sessionStorage.clear()")
