"""The `evotr chat` REPL: streams answers, takes slash commands, survives Ctrl-C."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterable, Iterator
from types import FrameType
from typing import IO, TextIO

from rich.console import Console
from rich.markup import escape

from evotr.application.assistant import Assistant
from evotr.application.chat import ChatReply
from evotr.domain.errors import EvoTrError
from evotr.entrypoints.cli import render

HELP = """Komutlar / commands:
  /good               son yanıta 👍 (thumbs up on the last answer)
  /bad                son yanıta 👎 (thumbs down)
  /correct <metin>    son yanıtın doğrusunu kaydet (store the corrected answer)
  /correct --intent <x> <metin>  yanlış yönlendirme: doğru intent x (the router learns it)
  /stats              feedback istatistikleri
  /memory             son yanıt için hatırlananlar (what long-term memory recalled)
  /forget <id>        bir hatırayı sil (forget a memory; ids from /memory or evotr memory list)
  /reset              konuşmayı sıfırla (new conversation)
  /adapter <x>        x = auto | none | bir aile (a family, e.g. tr_chat)
  /verbose            [intent · güven · adapter] satırını aç/kapat
  /help, /quit        (Ctrl-C yanıtı durdurur, Ctrl-D çıkar)"""


class Repl:
    """Reads lines (a terminal or a pipe), answers messages, runs commands."""

    def __init__(self, assistant: Assistant, out: IO[str], *, verbose: bool = False) -> None:
        self._assistant = assistant
        self._out = out
        self._console = Console(file=out, highlight=False)
        self.verbose = verbose

    def run(self, lines: Iterable[str]) -> None:
        """Handle every line until /quit or the input ends; KeyboardInterrupt stops one answer."""
        try:
            self._run(lines)
        finally:
            self._assistant.flush()  # long-term memory writes in the background: finish them

    def _run(self, lines: Iterable[str]) -> None:
        for line in lines:
            text = line.strip()
            if not text:
                continue
            try:
                if text.startswith("/"):
                    if self._command(text) == "quit":
                        return
                else:
                    self._answer(text)
            except EvoTrError as error:
                # soft_wrap: an error stays one line (rich would hard-wrap it at the terminal width).
                self._console.print(f"[red]error:[/red] {escape(str(error))}", soft_wrap=True)

    def _answer(self, text: str) -> None:
        stream = self._assistant.stream(text)
        reply = None
        try:
            with ctrl_c() as stop:
                reply = self._print_stream(stream, stop)
        except KeyboardInterrupt:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
            self._out.write("\n[durduruldu / stopped]\n")
            self._out.flush()
            return
        self._out.write("\n")
        if reply is not None and self.verbose:
            self._console.print(f"[dim]{escape(describe(reply))}[/dim]")
        self._out.flush()

    def _print_stream(self, stream: Iterator[str | ChatReply], stop: threading.Event) -> ChatReply | None:
        for item in stream:
            if stop.is_set():  # a Ctrl-C whose KeyboardInterrupt was swallowed (see ctrl_c)
                raise KeyboardInterrupt
            if isinstance(item, ChatReply):
                return item
            self._out.write(render.terminal_safe(item))
            self._out.flush()
        return None

    def _show_recalled(self) -> None:
        recalled = self._assistant.recalled
        if not recalled:
            self._console.print("Son yanıt için hiçbir şey hatırlanmadı / nothing was recalled "
                                "for the last answer")
        for item in recalled:
            label = f"{item.kind.value} · {item.reason} · {item.score:.2f}"
            self._console.print(f"{item.id}  [{label}]  {item.text}", markup=False, soft_wrap=True)

    def _command(self, text: str) -> str | None:
        name, _, arg = text.partition(" ")
        arg = arg.strip()
        if name in ("/quit", "/exit", "/q"):
            return "quit"
        if name == "/help":
            # Plain text: rich would read "[intent · güven · adapter]" as markup and drop it.
            self._console.print(HELP, markup=False)
        elif name in ("/good", "/bad"):
            kind = "thumbs_up" if name == "/good" else "thumbs_down"
            self._assistant.feedback(None, kind)  # the answer just shown, or a clear refusal
            emoji = "👍" if name == "/good" else "👎"
            self._console.print(f"{emoji} kaydedildi (turn {self._assistant.last_turn_id})")
        elif name == "/correct":
            intent, arg = _intent_option(arg)
            if not arg:
                self._console.print("kullanım / usage: /correct [--intent <intent>] <doğru yanıt>")
            else:
                self._assistant.feedback(None, ("correction", arg), intent=intent)
                self._console.print(f"✏️  düzeltme kaydedildi (turn {self._assistant.last_turn_id})")
                if intent is not None:
                    self._console.print(f"router: öğrenilen örnek / learned example → {intent} "
                                        "(next start, or evotr router train)")
                if self._assistant.started_training is not None:
                    self._console.print(render.training_started(self._assistant.started_training),
                                        markup=False)
        elif name == "/stats":
            report = self._assistant.stats()
            self._console.print(render.feedback_table(report))
            self._console.print(report.gate.describe())
            training = self._assistant.training_state()
            if training is not None:
                self._console.print(training.describe(), markup=False)
        elif name == "/memory":
            self._show_recalled()
        elif name == "/forget":
            if not arg:
                self._console.print("kullanım / usage: /forget <id>")
            else:
                deleted = self._assistant.forget(arg)
                self._console.print(f"unutuldu / forgotten: {', '.join(deleted)}", markup=False)
        elif name == "/reset":
            self._assistant.reset()
            self._console.print("Konuşma sıfırlandı / conversation reset")
        elif name == "/adapter":
            choice = self._assistant.set_adapter(arg or "auto")
            self._console.print(f"adapter: {choice}")
        elif name == "/verbose":
            self.verbose = not self.verbose
            self._console.print(f"verbose: {'on' if self.verbose else 'off'}")
        else:
            self._console.print(f"Bilinmeyen komut / unknown command: {name} — /help")
        return None


@contextlib.contextmanager
def ctrl_c() -> Iterator[threading.Event]:
    """While an answer streams, Ctrl-C also sets the yielded event, checked between pieces.

    Python raises KeyboardInterrupt wherever the main thread happens to be when the signal is
    handled; inside a finalizer (a generator or object the garbage collector closes mid-answer)
    it is printed as "Exception ignored" and lost, and the answer went on streaming. The event
    outlives a lost exception. Only the main thread can own the handler, and a handler someone
    else installed (or SIGINT ignored) is left alone: then the event never fires.
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield stop
        return

    def interrupted(signum: int, frame: FrameType | None) -> None:
        stop.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _intent_option(arg: str) -> tuple[str | None, str]:
    """``--intent X rest`` → (X, rest); anything else → (None, arg). X is checked by the use case."""
    words = arg.split(maxsplit=2)
    if not words or words[0] != "--intent":
        return None, arg
    if len(words) == 1:
        raise EvoTrError("/correct --intent needs an intent and the corrected answer")
    return words[1], words[2] if len(words) > 2 else ""


def describe(reply: ChatReply) -> str:
    """``[intent · confidence · adapter]`` as shown with --verbose."""
    intent = f"{reply.intent.value} (fallback)" if reply.fallback else reply.intent.value
    adapter = reply.adapter.name if reply.adapter else "base model"
    return f"[{intent} · {reply.confidence:.0%} · {adapter}]"


def terminal_lines(prompt: str) -> Iterator[str]:
    """input() with a prompt; Ctrl-C at the prompt only clears the line, Ctrl-D ends."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history where available)
    while True:
        try:
            yield input(prompt)
        except KeyboardInterrupt:
            print("\n(çıkmak için Ctrl-D veya /quit)")
        except UnicodeDecodeError as exc:
            print(f"error: that line is not valid UTF-8 ({exc.reason} at byte {exc.start}); skipped — "
                  "check the terminal's encoding")
        except EOFError:
            print()
            return


def decoded_lines(raw: Iterable[bytes], err: TextIO) -> Iterator[str]:
    """Lines from a pipe; a line that is not UTF-8 is reported with its number and skipped."""
    for number, data in enumerate(raw, start=1):
        try:
            yield data.decode("utf-8")
        except UnicodeDecodeError as exc:
            err.write(f"error: stdin line {number} is not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                      "skipped\n")
