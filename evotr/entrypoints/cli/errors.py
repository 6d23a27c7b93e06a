"""How every CLI command reports failures: one line on stderr and an exit code, never a traceback."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from evotr.domain.errors import EvoTrError

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger("evotr")

# Exit codes: 1 our own error (bad input, bad state on disk); 2 a bug; 130 Ctrl-C.
EXIT_ERROR, EXIT_BUG, EXIT_INTERRUPTED = 1, 2, 130


def friendly_errors(func: F) -> F:
    """Wrap a Click command so every failure becomes ``error: <message>`` on one line.

    EvoTrError is ours and already says what to do. An OSError that slipped past a backend still
    names its path and reason. Anything else is a bug: one line asking for ``evotr -v``, which
    shows the traceback (``-v`` re-raises it).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except EvoTrError as error:
            # Several independent problems (e.g. two broken adapters): one line each.
            problems = getattr(error, "problems", None) or [str(error)]
            for problem in problems[:-1]:
                click.echo(f"error: {_first_line(problem)}", err=True)
            _fail(str(problems[-1]), EXIT_ERROR)
        except KeyboardInterrupt:
            _fail("interrupted (Ctrl-C); nothing more was written", EXIT_INTERRUPTED)
        except OSError as error:
            if _verbose():
                raise
            where = f"{error.filename}: " if error.filename else ""
            _fail(f"{where}{error.strerror or error}; check that the path exists and that you may "
                  "read and write it (or use another --home)", EXIT_ERROR)
        except Exception as error:
            if _verbose():
                raise
            _fail(f"unexpected {type(error).__name__}: {_first_line(error)} — this is a bug in "
                  "EVO-TR; run the command again with `evotr -v ...` to see where, and report it", EXIT_BUG)

    return wrapper  # type: ignore[return-value]


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {_first_line(message)}", err=True)
    sys.exit(code)


def _first_line(value: object) -> str:
    text = str(value).strip()
    return " ".join(text.splitlines()) if text else type(value).__name__


def _verbose() -> bool:
    """``evotr -v``: show the traceback of an unexpected error instead of hiding it."""
    context = click.get_current_context(silent=True)
    return bool(context is not None and context.find_root().params.get("verbose"))
