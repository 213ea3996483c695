"""Evidence files are written once and never changed: a file appears under its name whole or not
at all. It is written to a hidden name beside it (`.partial-…`), then linked to its name (which
fails rather than replace a file) and the hidden name removed. So a reader of the directory (the
backup, scripts/backup.sh) sees only finished files that will not change while it reads them,
and skips the hidden ones."""

import os
import secrets

from django.core.files.storage import FileSystemStorage

PARTIAL_PREFIX = ".partial-"


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
