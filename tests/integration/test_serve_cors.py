"""serve.cors_origins: no CORS headers by default, an allow-list when configured; the page's files."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from evotr.container import build_container
from evotr.entrypoints.http.app import PAGE_DIR, create_app
from evotr.entrypoints.http.server import ServeOptions, services_for
from evotr.infrastructure.config.errors import ConfigError
from evotr.infrastructure.config.loader import load_settings
from tests.cli_homes import memory_llm_home

pytestmark = pytest.mark.integration

ALLOWED = "http://localhost:3000"
PREFLIGHT = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}


def _app(home: Path, origins: tuple[str, ...] = (), api_key: str | None = None) -> TestClient:
    """The app over an in-memory LLM and router (no router training); its worker never starts."""
    config = memory_llm_home(home) / "evotr.yaml"
    config.write_text(config.read_text("utf-8").replace("classifier: ngram", "classifier: memory"), "utf-8")
    services = services_for(build_container(home=home, env={}))
    return TestClient(create_app(services, api_key=api_key, static_dir=PAGE_DIR, cors_origins=origins))


def _set_origins(home: Path, value: str) -> None:
    config = home / "evotr.yaml"
    text = config.read_text("utf-8")
    assert text.count("  cors_origins: []") == 1, "the shipped evotr.yaml lost serve.cors_origins: []"
    config.write_text(text.replace("  cors_origins: []", f"  cors_origins: {value}"), "utf-8")


def test_no_cors_headers_by_default(tmp_path: Path) -> None:
    client = _app(tmp_path / "home")
    answer = client.get("/v1/models", headers={"Origin": ALLOWED})
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers
    assert "access-control-allow-origin" not in client.options("/v1/chat/completions",
                                                             headers={"Origin": ALLOWED, **PREFLIGHT}).headers


def test_an_allowed_origin_passes_the_preflight_even_with_an_api_key(tmp_path: Path) -> None:
    client = _app(tmp_path / "home", (ALLOWED,), api_key="secret")
    preflight = client.options("/v1/chat/completions", headers={"Origin": ALLOWED, **PREFLIGHT})
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    refused = client.get("/v1/models", headers={"Origin": ALLOWED})  # the key is still required
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ALLOWED
    ok = client.get("/v1/models", headers={"Origin": ALLOWED, "Authorization": "Bearer secret"})
    assert ok.status_code == 200 and ok.json()["data"][0]["id"] == "evotr"


def test_another_origin_gets_no_cors_headers(tmp_path: Path) -> None:
    client = _app(tmp_path / "home", (ALLOWED,))
    other = "http://evil.example"
    assert client.options("/v1/feedback", headers={"Origin": other, **PREFLIGHT}).status_code == 400
    assert "access-control-allow-origin" not in client.get("/v1/models", headers={"Origin": other}).headers


def test_the_config_allow_list_reaches_the_server_options(tmp_path: Path) -> None:
    home = memory_llm_home(tmp_path / "home")
    _set_origins(home, f"[{ALLOWED}, 'https://chat.example:8443']")
    settings = load_settings(home / "evotr.yaml", home=home, env={})
    assert settings.serve.cors_origins == (ALLOWED, "https://chat.example:8443")
    assert ServeOptions().cors_origins == () and ServeOptions().static_dir == PAGE_DIR


@pytest.mark.parametrize("bad", ["[http://localhost:3000/]", "[localhost:3000]", "[ftp://x]", "['']",
                                 "http://localhost:3000"])
def test_a_bad_origin_is_one_line_naming_the_key(tmp_path: Path, bad: str) -> None:
    home = memory_llm_home(tmp_path / "home")
    _set_origins(home, bad)
    with pytest.raises(ConfigError) as caught:
        load_settings(home / "evotr.yaml", home=home, env={})
    message = str(caught.value)
    assert "serve.cors_origins" in message and "\n" not in message


def test_the_page_and_its_files_are_served_and_the_api_still_answers_json(tmp_path: Path) -> None:
    client = _app(tmp_path / "home")
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="app.js"' in page.text and "http" not in page.text.split("<body>")[1]  # no CDN
    assert client.get("/app.js").headers["content-type"].split(";")[0] in ("text/javascript",
                                                                             "application/javascript")
    assert client.get("/style.css").status_code == 200
    missing = client.get("/v1/nothing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert {p.name for p in PAGE_DIR.iterdir()} == {"index.html", "app.js", "style.css"}
    assert "innerHTML" not in (PAGE_DIR / "app.js").read_text("utf-8").replace("never innerHTML", "")
