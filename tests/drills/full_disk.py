"""Evidence storage on a full disk (the fault drills' settings module `full_disk_settings`)."""

import errno

from core.storage import WriteOnceStorage


class FullDiskStorage(WriteOnceStorage):
    def _save(self, name, content):
        raise OSError(errno.ENOSPC, "No space left on device")
