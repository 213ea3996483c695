"""Evidence files are written once and never changed: a file appears under its name whole or not
at all. It is written to a hidden name beside it (`.partial-…`), then linked to its name (which
fails rather than replace a file) and the hidden name removed. So a reader of the directory (the
backup, scripts/backup.sh) sees only finished files that will not change while it reads them,
and skips the hidden ones.

A process killed mid-write leaves its hidden name behind: `partial_sweep` (run hourly by beat,
obligations.tasks.remove_stale_evidence_partials) removes those older than a day, never a
visible file."""

import os
import secrets
import stat
import time
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage

PARTIAL_PREFIX = ".partial-"
PARTIAL_MAX_AGE_HOURS = 24  # far longer than any upload takes


class WriteOnceStorage(FileSystemStorage):
    def _save(self, name, content):
        head, tail = os.path.split(name)
        partial = os.path.join(head, f"{PARTIAL_PREFIX}{tail}-{secrets.token_hex(8)}")
        try:
            partial = super()._save(partial, content)
        except BaseException:  # a write cut short (disk full) leaves nothing behind
            if os.path.exists(self.path(partial)):
                os.unlink(self.path(partial))
            raise
        partial_path = self.path(partial)
        try:
            while True:
                try:
                    os.link(partial_path, self.path(name))
                    break
                except FileExistsError:
                    name = self.get_available_name(name)
        finally:
            os.unlink(partial_path)
        return os.path.relpath(self.path(name), self.location).replace("\\", "/")


def partial_sweep(*, root: str | os.PathLike | None = None, hours: float = PARTIAL_MAX_AGE_HOURS) -> int:
    """Remove `.partial-…` files older than `hours` under the evidence root (MEDIA_ROOT, set
    by EVIDENCE_ROOT); returns how many. Only regular files whose name starts with the hidden
    prefix are touched; symbolic links are not followed."""
    base = Path(root if root is not None else settings.MEDIA_ROOT)
    if not base.is_dir():
        return 0
    cutoff = time.time() - hours * 3600
    removed = 0
    for dirpath, _dirs, files in os.walk(base):
        for name in files:
            if not name.startswith(PARTIAL_PREFIX):
                continue
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
                if not stat.S_ISREG(st.st_mode) or st.st_mtime >= cutoff:
                    continue
                os.unlink(path)
                removed += 1
            except FileNotFoundError:  # its writer finished (or another sweep) meanwhile
                continue
    return removed
