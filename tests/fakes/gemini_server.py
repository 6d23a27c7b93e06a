"""A loopback fake of the Gemini REST ``generateContent`` endpoint with Google's free-tier quotas.

Usable from a sync pytest fixture or a plain script (it serves from a background thread)::

    with FakeGeminiServer(keys=["k1", "k2"], rpm=30, tpm=15_000, rpd=14_400) as server:
        ...  # genai.Client(api_key="k1", http_options=HttpOptions(base_url=server.base_url))
    server.records  # every request it saw, admitted or refused
    server.check_limits()  # [] when no request was ever admitted over a limit

The quota rule and token counting live in :mod:`tests.fakes.gemini_quota`.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.gemini_quota import (
    FAULTS,
    PATH,
    REFUSALS,
    KeyQuota,
    Limits,
    RequestRecord,
    Responder,
    check_limits,
    count_tokens,
    error_body,
    key_refusal,
    over_limit,
    quota_error,
    sample_responder,
    validate,
)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256  # a burst of concurrent clients must not wait on SYN retries

    def __init__(self, fake: FakeGeminiServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.connections: set[Any] = set()

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections.add(request)  # kept so stop() can close idle keep-alive sockets
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.connections.discard(request)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections close after this (longer than aiohttp's 15 s)
    server: _HTTPServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, payload = self.server.fake.handle(self.path, headers, body)
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the records are the log."""


class FakeGeminiServer:
    """The fake endpoint on 127.0.0.1:<ephemeral>; ``start()`` returns its base URL.

    ``faults`` maps a request's arrival number (0-based) to one of FAULTS; ``fault_rate`` adds
    random server_error/malformed faults drawn from ``seed``. ``key_limits`` overrides one key's limits.
    ``refused_keys`` maps a key to one of REFUSALS: every request with it gets Google's answer for a
    key it will not serve (list it in ``keys`` too to see its index in the records).
    """

    def __init__(self, keys: Sequence[str], *, rpm: int = 30, tpm: int = 15_000, rpd: int = 14_400,
                 key_limits: Mapping[str, Limits] | None = None, responder: Responder | None = None,
                 faults: Mapping[int, str] | None = None, fault_rate: float = 0.0, seed: int = 0,
                 latency_s: float = 0.0, injected_retry_delay_s: float = 1.0,
                 max_lifetime_s: float = 3600.0, max_requests: int = 1_000_000,
                 refused_keys: Mapping[str, str] | None = None) -> None:
        overrides = dict(key_limits or {})
        self._refused = dict(refused_keys or {})
        if bad := set(self._refused.values()) - set(REFUSALS):
            raise ValueError(f"unknown refusals {sorted(bad)}; use {REFUSALS}")
        self._keys = {key: i for i, key in enumerate(keys)}
        self._state = [KeyQuota(overrides.get(key, Limits(rpm, tpm, rpd))) for key in keys]
        self._responder = responder or sample_responder
        self._faults = dict(faults or {})
        if bad := set(self._faults.values()) - set(FAULTS):
            raise ValueError(f"unknown faults {sorted(bad)}; use {FAULTS}")
        self._fault_rate, self._rng = fault_rate, random.Random(seed)
        self._latency_s, self._retry_delay_s = latency_s, injected_retry_delay_s
        self._max_lifetime_s, self._max_requests = max_lifetime_s, max_requests
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._seq = self._day = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` once started, else ''."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}" if self._httpd else ""

    def start(self) -> str:
        """Bind an ephemeral loopback port, serve from a daemon thread, return the base URL."""
        self._httpd = _HTTPServer(self)
        self._httpd.timeout = 0.1
        self._thread = threading.Thread(target=self._serve, name="fake-gemini", daemon=True)
        self._thread.start()
        return self.base_url

    def _serve(self) -> None:
        # Bounded loop: ends on stop(), after max_lifetime_s, or after max_requests.
        deadline = time.monotonic() + self._max_lifetime_s
        assert self._httpd is not None
        while (not self._stopping.is_set() and time.monotonic() < deadline
               and self._seq < self._max_requests):
            self._httpd.handle_request()

    def stop(self) -> None:
        """Stop serving, close open connections and the listening socket."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._httpd is not None:
            for conn in list(self._httpd.connections):
                self._httpd.shutdown_request(conn)
            self._httpd.server_close()

    def __enter__(self) -> FakeGeminiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def records(self) -> list[RequestRecord]:
        """Every request so far, as each was refused or answered (``seq`` is the arrival order)."""
        with self._lock:
            return list(self._records)

    def reset_day(self) -> None:
        """Start a new quota day: every key's day counter goes back to zero."""
        with self._lock:
            self._day += 1
            for state in self._state:
                state.today = 0

    def handle(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """Answer one POST (``headers`` with lower-case names): checks under the lock, answer outside.

        The key is read from ``x-goog-api-key`` (what the SDK sends) or a ``?key=`` parameter.
        """
        url = urlsplit(path)
        match = PATH.match(url.path)
        query_key = parse_qs(url.query).get("key", [""])[0]
        model, key = (match.group(2) if match else ""), headers.get("x-goog-api-key") or query_key
        index = self._keys.get(key, -1)
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = None
        system = isinstance(request, dict) and "systemInstruction" in request
        base: dict[str, Any] = {"path": path, "model": model, "key_index": index,
                "user_agent": headers.get("user-agent") or "", "system_instruction": system}
        with self._lock:
            base["day"] = self._day
            if match is not None and key in self._refused:
                kind = self._refused[key]
                return self._refuse(base, f"refused_{kind}", *key_refusal(kind, key))
            refusal = validate(match, key, index, request, model)
            if refusal is not None:
                outcome = "invalid_key" if index < 0 and refusal[0] in (400, 403) else "bad_request"
                return self._refuse(base, outcome, *refusal)
            fault, limits = self._fault_for(self._seq), self._state[index].limits
            if fault == "server_error":
                payload = error_body(500, "INTERNAL", "An internal error has occurred.")
                return self._refuse(base, "server_error", 500, payload)
            if fault == "rate_limit":
                payload = quota_error("minute", self._retry_delay_s, limits.rpm, model)
                return self._refuse(base, "rate_limited_minute", 429, payload)
            prompt = "".join(str(part.get("text", "")) for content in request["contents"]
                             for part in content.get("parts", []))
            over = over_limit(self._state[index], count_tokens(prompt), model)
            if over is not None:
                return self._refuse(base, f"rate_limited_{over[0]}", 429, over[1])
            admitted = RequestRecord(seq=self._seq, time=time.monotonic(), status=200, outcome="ok",
                                     prompt_tokens=count_tokens(prompt), **base)
            self._seq += 1
            self._state[index].window.append(admitted)
            self._state[index].today += 1
        if self._latency_s:
            time.sleep(self._latency_s)
        text = self._responder(prompt, self._rng) if fault != "malformed" else '{"user": "Yarım kalan'
        limit = int((request.get("generationConfig") or {}).get("maxOutputTokens") or 8192)
        text = text[: limit * 4]  # like maxOutputTokens: never more output tokens than asked for
        with self._lock:  # done_time under the lock, so check_limits sees what admission saw
            done = replace(admitted, output_tokens=count_tokens(text), done_time=time.monotonic(),
                           outcome="malformed" if fault == "malformed" else "ok")
            window = self._state[index].window
            if admitted in window:
                window[window.index(admitted)] = done
            self._records.append(done)
        usage = {"promptTokenCount": done.prompt_tokens, "candidatesTokenCount": done.output_tokens,
                 "totalTokenCount": done.prompt_tokens + done.output_tokens}
        return 200, {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                                     "finishReason": "STOP", "index": 0}],
                     "usageMetadata": usage, "modelVersion": model}

    def _refuse(self, base: dict[str, Any], outcome: str, status: int,
                payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        now = time.monotonic()  # called under the lock
        self._records.append(RequestRecord(seq=self._seq, time=now, done_time=now, status=status,
                                           outcome=outcome, **base))
        self._seq += 1
        return status, payload

    def _fault_for(self, seq: int) -> str | None:
        if seq in self._faults:
            return self._faults[seq]
        if self._fault_rate and self._rng.random() < self._fault_rate:
            return self._rng.choice(("server_error", "malformed"))
        return None

    def check_limits(self) -> list[str]:
        """Re-check every admitted request against the quota rule from the records alone.

        Returns one line per violation (empty: no request was ever admitted over a limit).
        """
        return check_limits(self.records, [state.limits for state in self._state])
