"""What `model.path` (or `--model`) names: a local mlx-lm folder or a Hugging Face hub id.

``owner/name`` is both a hub id and a relative path, so the spelling alone cannot decide. The rule,
first match wins (``base`` is the config file's folder for `model.path`, the working directory for
`--model`):

1. absolute, ``~…``, ``.``, ``..``, ``./…``, ``../…`` → always a local folder: the user wrote a path;
2. any other relative value that is an existing folder under ``base``, or whose first part is
   one (``models/qwen`` where ``models/`` exists) → that folder: a hub owner is never a local folder;
3. ``name`` or ``owner/name`` spelled as the hub spells repository ids → a hub id, left as written;
4. anything else (``a/b/c``, ``a\\b``) → a local folder under ``base``: it cannot be a hub id.

Local folders come back absolute, so the model backend never re-reads a config-relative path
against the working directory; a missing one is then a missing folder, never a download.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# owner/name (or a bare name) as the Hugging Face hub spells repository ids.
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
_PATH_PREFIXES = ("/", "~", "./", "../")


def looks_like_path(value: str) -> bool:
    """True when ``value`` is written as a path (rule 1), whatever exists on disk."""
    return value in (".", "..") or value.startswith(_PATH_PREFIXES)


def resolve_model_path(value: str, base: Path) -> str:
    """An absolute local folder for a path-like or existing ``value``, else the hub id unchanged."""
    if looks_like_path(value):
        return os.path.abspath(base / Path(value).expanduser())  # an absolute one stays itself
    candidate = os.path.abspath(base / value)
    owner = (base / value.split("/", 1)[0]) if "/" in value else None
    if Path(candidate).is_dir() or (owner is not None and owner.is_dir()) or not _HUB_ID.fullmatch(value):
        return candidate
    return value
