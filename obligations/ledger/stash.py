"""The uploaded 台账 kept between the preview and the confirmation: one per person, removed after a day."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from django.conf import settings

from accounts.models import User

# --------------------------------------------------------------------------------------------
# The upload page keeps the file between the preview and the confirmation.

STASH_HOURS = 24


def _stash_dir() -> Path:
    # Beside the report exports, never under the static root; one file per person at most.
    return Path(settings.REPORTS_ROOT) / "ledger-uploads"


def ledger_stash(*, actor: User, data: bytes) -> str:
    """Keep an uploaded ledger for its confirmation; returns the token the confirmation names.
    A person has one preview at a time: the next one replaces it (ten uploads kept ten files of
    up to 5 MB each for a day). Previews never confirmed are removed after STASH_HOURS by the
    clean-up task (`ledger_stash_sweep`)."""
    root = _stash_dir()
    root.mkdir(parents=True, exist_ok=True)
    for previous in root.glob(f"{actor.pk}-*.xlsx"):
        previous.unlink(missing_ok=True)
    token = uuid.uuid4().hex
    path = root / f"{actor.pk}-{token}.xlsx"
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return token


def ledger_stash_sweep(*, hours: float = STASH_HOURS) -> int:
    """Remove previews (and half-written ones) older than `hours`; returns how many."""
    root = _stash_dir()
    if not root.is_dir():
        return 0
    cutoff = time.time() - hours * 3600
    removed = 0
    for path in [*root.glob("*.xlsx"), *root.glob("*.part")]:
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # confirmed or replaced meanwhile
            continue
    return removed


def _stash_path(actor: User, token: str) -> Path | None:
    # The token is ours (hex) and the file carries the user's id: nobody confirms another's upload.
    if not (isinstance(token, str) and len(token) == 32 and all(c in "0123456789abcdef" for c in token)):
        return None
    path = _stash_dir() / f"{actor.pk}-{token}.xlsx"
    return path if path.is_file() else None


def ledger_stashed(*, actor: User, token: str) -> bytes | None:
    path = _stash_path(actor, token)
    return path.read_bytes() if path else None


def ledger_unstash(*, actor: User, token: str) -> None:
    path = _stash_path(actor, token)
    if path:
        path.unlink(missing_ok=True)
