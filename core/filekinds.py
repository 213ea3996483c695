"""What a file is, judged by its content, and the one guard every ZIP-based file passes.

Evidence, the 台账 and regulation files all accept ZIP-based documents (docx, xlsx, OFD). Each
caller states its own limits (`ArchiveLimits`) and words its own refusal; the judging is here
once: the archive's end record first (core.archives, before Python reads a directory of any
size), then the directory, then the unpacked size and the compression ratio of each entry.
(Python's zipfile never inflates an entry past its declared size, so the declared sizes hold.)
"""

import zipfile
from dataclasses import dataclass

from . import archives

PDF, PNG, JPEG, GIF, OLE = "pdf", "png", "jpeg", "gif", "ole"
DOCX, XLSX, OFD, ZIP = "docx", "xlsx", "ofd", "zip"

MAGIC = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", OLE),  # the old binary Office formats (.doc, .xls)
)
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class ArchiveLimits:
    entries: int = 10_000
    directory_bytes: int = 4 * 1024 * 1024
    unpacked_bytes: int = 1024 * 1024 * 1024
    # An entry over 1 MiB unpacked that is more than `ratio` times its packed size is refused
    # (XML compresses well, but not 1000:1 unless it was built to); None: not checked.
    ratio: int | None = None


class ArchiveRefused(Exception):
    """The archive breaks a limit. `reason` is "entries", "unpacked" or "ratio"; `count` the
    entries found, `unpacked` the bytes declared. The caller words the message for its readers."""

    def __init__(self, reason: str, *, count: int = 0, unpacked: int = 0):
        super().__init__(reason)
        self.reason, self.count, self.unpacked = reason, count, unpacked


def archive_entries(fileobj, limits: ArchiveLimits) -> list[zipfile.ZipInfo] | None:
    """The entries of a ZIP archive within `limits`; None when it cannot be read as one.
    Raises ArchiveRefused past a limit. Leaves the file at 0."""
    stated = archives.declared(fileobj)
    if stated is None:
        return None
    if stated.entries > limits.entries or stated.directory_bytes > limits.directory_bytes:
        raise ArchiveRefused("entries", count=stated.entries)
    try:
        with zipfile.ZipFile(fileobj) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    finally:
        fileobj.seek(0)
    if len(entries) > limits.entries:  # the end record understated them
        raise ArchiveRefused("entries", count=len(entries))
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > limits.unpacked_bytes:
        raise ArchiveRefused("unpacked", count=len(entries), unpacked=unpacked)
    if limits.ratio is not None:
        for entry in entries:
            if entry.file_size > 1024 * 1024 and entry.file_size > limits.ratio * max(entry.compress_size, 1):
                raise ArchiveRefused("ratio", count=len(entries), unpacked=unpacked)
    return entries


def kind_of(fileobj, limits: ArchiveLimits) -> str | None:
    """PDF, PNG, JPEG, GIF, OLE, DOCX, XLSX, OFD or ZIP (an archive of none of those) by content;
    None when it is none of these. A ZIP-based file over `limits` raises ArchiveRefused before its
    directory is read. Leaves the file at 0."""
    fileobj.seek(0)
    head = fileobj.read(8)
    fileobj.seek(0)
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    if not head.startswith(ZIP_MAGIC):
        return None
    entries = archive_entries(fileobj, limits)
    if entries is None:
        return None
    names = {entry.filename for entry in entries}
    if "[Content_Types].xml" in names and "word/document.xml" in names:
        return DOCX
    if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
        return XLSX
    if "OFD.xml" in names:
        return OFD
    return ZIP


def has_macros(fileobj, limits: ArchiveLimits) -> bool:
    """Whether an Office archive carries a VBA project (a macro-enabled file renamed .xlsx/.docx)."""
    entries = archive_entries(fileobj, limits) or []
    return any(entry.filename.lower().endswith("vbaproject.bin") for entry in entries)
