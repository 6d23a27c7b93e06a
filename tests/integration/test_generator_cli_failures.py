"""`evotr data generate` on a bad key, a dead endpoint and a restart: what the user meets at the CLI.

Every run goes through Click and the real google-genai SDK, against the loopback fake Gemini server
(which answers Google's own 400 "API key not valid" / 403 PERMISSION_DENIED for chosen keys) or a
loopback port where nothing listens.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from evotr.entrypoints.cli.main import main
from evotr.infrastructure.gemma.request_log import FILE_NAME
from tests.cli_homes import code_responder, memory_llm_home
from tests.fakes import FakeGeminiServer

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
GOOD = "AIzaSy-good-key-0123456789-GOOD"
BAD = "AIzaSy-bad-key-9876543210-BAAD"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return memory_llm_home(tmp_path / "home")


def generate(home: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    # Only the variables given: a developer's own GOOGLE_API_KEY must not leak into the test.
    clean = {name: None for name in os.environ if name.startswith("GOOGLE_API_KEY")}
    result = CliRunner().invoke(main, ["--home", str(home), "data", "generate", "--category", "python_code",
                                       "--backend", "gemma", *args], env={**clean, **env})
    return result.exit_code, result.stdout, result.stderr


def written(home: Path) -> list[dict[str, object]]:
    found = []
    for path in sorted((home / "data" / "generated" / "python_code").glob("*.jsonl")):
        found += [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    return found


def every_byte_under(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_an_invalid_only_key_stops_after_one_request_naming_its_variable(home: Path) -> None:
    with FakeGeminiServer(keys=[BAD], refused_keys={BAD: "invalid"}, responder=code_responder) as server:
        code, out, err = generate(home, {"GOOGLE_API_KEY": BAD, "EVOTR_GENAI_BASE_URL": server.base_url},
                                  "--count", "5", "--concurrency", "1")
        records = server.records
    assert code == 1, err
    assert [r.outcome for r in records] == ["refused_invalid"]  # not retried 30 times
    (line,) = error_lines(err)
    assert line.startswith("error: every API key was refused by the API: GOOGLE_API_KEY (…BAAD): "
                           "400 INVALID_ARGUMENT: API key not valid. Please pass a valid API key.")
    assert "GOOGLE_API_KEY_2" in line and "rerun the same command" in line
    assert "prompt template" not in err and "Traceback" not in err
    assert BAD not in out + err and BAD[:-4] not in out + err


def test_a_good_and_a_bad_key_retires_the_bad_one_and_finishes_on_the_good(home: Path) -> None:
    # The denied key's 403 echoes it back ("Consumer 'api_key:…' has been suspended"), as Google's does.
    with FakeGeminiServer(keys=[GOOD, BAD], refused_keys={BAD: "denied"}, rpm=600, tpm=100_000,
                          responder=code_responder) as server:
        env = {"GOOGLE_API_KEY": GOOD, "GOOGLE_API_KEY_2": BAD, "EVOTR_GENAI_BASE_URL": server.base_url}
        code, out, err = generate(home, env, "--count", "8", "--concurrency", "1", "--rpm", "600",
                                  "--tpm", "100000", "--json")
        records = server.records
    assert code == 0, err
    assert len(written(home)) == 8
    on_bad = [r for r in records if r.key_index == 1]
    assert [r.outcome for r in on_bad] == ["refused_denied"]  # once, never again (not half of them)
    assert sum(1 for r in records if r.key_index == 0 and r.status == 200) == 8
    assert ("warning: GOOGLE_API_KEY_2 (…BAAD) was refused by the API (403 PERMISSION_DENIED: Permission "
            "denied: Consumer 'api_key:…BAAD' has been suspended.)") in err
    assert json.loads(out)["report"]["rejects"] == {}  # a refused key is not a rejected sample
    shown = out + err + every_byte_under(home / "data").decode("utf-8", "replace")
    assert BAD not in shown and GOOD not in shown and BAD[:-4] not in shown
    assert (home / "data" / FILE_NAME).is_file()


def test_concurrent_requests_on_a_bad_key_stop_at_the_first_refusal(home: Path) -> None:
    with FakeGeminiServer(keys=[GOOD, BAD], refused_keys={BAD: "invalid"}, rpm=600, tpm=100_000,
                          latency_s=0.05, responder=code_responder) as server:
        env = {"GOOGLE_API_KEY": GOOD, "GOOGLE_API_KEY_2": BAD, "EVOTR_GENAI_BASE_URL": server.base_url}
        code, _, err = generate(home, env, "--count", "20", "--concurrency", "4", "--rpm", "600",
                                "--tpm", "100000")
        records = server.records
    assert code == 0, err
    assert len(written(home)) == 20
    # At most the requests already on their way when the first refusal came back.
    assert 1 <= sum(1 for r in records if r.key_index == 1) <= 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_endpoint_stops_after_bounded_retries_with_one_line(home: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    code, out, err = generate(home, {"GOOGLE_API_KEY": GOOD, "EVOTR_GENAI_BASE_URL": url},
                              "--count", "5", "--concurrency", "2", "--max-retries", "1")
    elapsed = time.monotonic() - started
    assert code == 1, err
    (line,) = error_lines(err)
    assert line.startswith(f"error: cannot reach the Gemini API at {url} (")
    assert "after 2 tries in" in line and "EVOTR_GENAI_BASE_URL" in line and "rerun the same command" in line
    assert "Traceback" not in err and GOOD not in out + err
    assert elapsed < 20  # one retry after ~1 s of backoff, not minutes
    assert written(home) == []


def test_the_retry_bound_and_backoff_come_from_generation_yaml(home: Path) -> None:
    text = (REPO / "configs" / "generation.yaml").read_text("utf-8")
    text = text.replace("  max_retries: 4 ", "  max_retries: 2 ").replace("  retry_backoff_s: 1.0 ",
                                                                        "  retry_backoff_s: 0.05 ")
    (home / "generation.yaml").write_text(text, "utf-8")  # beside evotr.yaml: it wins
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = generate(home, {"GOOGLE_API_KEY": GOOD, "EVOTR_GENAI_BASE_URL": url},
                            "--count", "1", "--concurrency", "1")
    assert code == 1 and "after 3 tries in" in err, err
    bad = text.replace("  retry_backoff_s: 0.05 ", "  retry_backoff_s: -1 ")
    (home / "generation.yaml").write_text(bad, "utf-8")
    code, _, err = generate(home, {"GOOGLE_API_KEY": GOOD, "EVOTR_GENAI_BASE_URL": url}, "--count", "1")
    (line,) = error_lines(err)
    assert code == 1 and "generation.yaml" in line and "retry_backoff_s" in line


def test_a_restarted_run_gets_no_fresh_daily_budget(home: Path) -> None:
    with FakeGeminiServer(keys=[GOOD], rpm=600, tpm=100_000, rpd=1_000, responder=code_responder) as server:
        env = {"GOOGLE_API_KEY": GOOD, "EVOTR_GENAI_BASE_URL": server.base_url}
        args = ("--count", "5", "--concurrency", "1", "--rpm", "600", "--tpm", "100000", "--rpd", "3")
        first = generate(home, env, *args)
        sent_by_first = len(server.records)
        second = generate(home, env, *args)  # a new process would build exactly this again
        records = server.records
    assert first[0] == 3 and second[0] == 3, first[2] + second[2]
    assert sent_by_first == 3 and len(records) == 3  # the restart sent nothing: --rpd 3 is used up today
    assert "quota exhausted" in second[2] and len(written(home)) == 3
    raw = (home / "data" / FILE_NAME).read_bytes()
    assert GOOD.encode() not in raw and GOOD[:-4].encode() not in raw


def test_two_processes_at_once_share_one_daily_budget(tmp_path: Path) -> None:
    home = tmp_path / "home"  # one home: one request log, so one budget per key
    with FakeGeminiServer(keys=[GOOD], rpm=6000, tpm=1_000_000, rpd=1_000, latency_s=0.05,
                          responder=code_responder) as server:
        env = dict(os.environ, GOOGLE_API_KEY=GOOD, EVOTR_GENAI_BASE_URL=server.base_url, HF_HUB_OFFLINE="1")
        env = {k: v for k, v in env.items() if not k.startswith("GOOGLE_API_KEY_")}
        runs = [subprocess.Popen([sys.executable, "-m", "evotr", "--home", str(home), "data",
                                  "generate", "--category", category, "--count", "6", "--backend", "gemma",
                                  "--concurrency", "2", "--rpm", "6000", "--tpm", "1000000", "--rpd", "7"],
                                 cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                for category in ("python_code", "science")]
        errors = [run.communicate(timeout=120)[1].decode() for run in runs]
        records = server.records
    codes = sorted(run.returncode for run in runs)
    assert codes in ([0, 3], [3, 3]), errors  # 12 wanted, 7 allowed today: at least one stops
    assert len(records) == 7 and all(r.status == 200 for r in records)  # never one over, never a 429


def test_a_run_the_api_keeps_refusing_does_not_blame_the_prompt_template(home: Path) -> None:
    text = (REPO / "configs" / "generation.yaml").read_text("utf-8")
    (home / "generation.yaml").write_text(text.replace("  max_retries: 4 ", "  max_retries: 0 "), "utf-8")
    with FakeGeminiServer(keys=[GOOD], faults=dict.fromkeys(range(200), "server_error")) as server:
        code, _, err = generate(home, {"GOOGLE_API_KEY": GOOD, "EVOTR_GENAI_BASE_URL": server.base_url},
                                "--count", "1", "--concurrency", "1", "--tpm", "100000")
    (line,) = error_lines(err)
    assert code == 1 and line.startswith("error: gave up after 14 attempts with 0 of 1 samples; "
                                         "the API refused 14 requests"), err
    assert "prompt template" not in err
