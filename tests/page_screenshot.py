"""The README's picture of the web page: `evotr serve` on a model, a short chat, a screenshot.

    .venv/bin/python -m tests.page_screenshot --model PATH_TO_GEMMA --out docs/serve_page.png

Uses the same headless Chromium as the page tests (Debian's chromium + chromedriver).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from evotr.container import build_container
from evotr.entrypoints.http.server import ServeOptions, running, services_for
from tests.browser import answered, chromium, open_page, send, until

SLOW = 600  # seconds: Gemma on a shared 2-core CPU


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="an mlx-lm model folder (Gemma 3 270M)")
    parser.add_argument("--out", type=Path, default=Path("docs/serve_page.png"))
    parser.add_argument("--max-tokens", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        build_container(home=home, env={}).use_cases.init_home().execute()
        config = home / "evotr.yaml"
        text = config.read_text("utf-8")
        text = text.replace("path: mlx-community/Qwen2.5-3B-Instruct-4bit", f"path: {args.model.resolve()}")
        config.write_text(text.replace("  max_tokens: 512", f"  max_tokens: {args.max_tokens}"), "utf-8")
        container = build_container(home=home, env={})
        with running(services_for(container), ServeOptions(port=0)) as url, \
                chromium(Path(scratch) / "chromium", width=1000, height=800) as page:
            open_page(page, url)
            send(page, "Merhaba! Türkiye'nin başkenti neresi?")
            answered(page, 1, SLOW).find_element("css selector", ".good").click()
            send(page, "Python'da bir listeyi nasıl sıralarım?")
            answered(page, 2, SLOW)
            until(page, lambda d: "👍 1" in d.find_element("id", "stats").text, "the stats")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.save_screenshot(str(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
