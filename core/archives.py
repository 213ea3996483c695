"""What a ZIP archive (docx, xlsx, OFD) declares about itself, read without reading its directory.

Python's zipfile reads the whole central directory as soon as an archive is opened: for a crafted
file of 450,000 entries that is seconds and hundreds of megabytes before anything can be refused.
The end-of-central-directory record (the last 22 bytes, before an optional comment of up to
64 KiB; ZIP64 archives point from there to a larger record) states the number of entries and the
size of the directory, so an upload can be judged from it first (PKWARE APPNOTE 4.3.14–4.3.16).
"""

import struct
from dataclasses import dataclass

END = struct.Struct("<4s4H2LH")  # signature, disks, entries here, entries, directory size, offset, comment
END_SIGNATURE = b"PK\x05\x06"
ZIP64_LOCATOR = struct.Struct("<4sLQL")  # signature, disk, offset of the ZIP64 end record, disks
ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
ZIP64_END = struct.Struct("<4sQ2H2L4Q")  # signature, size, versions, disks, entries here, entries, size, offset
ZIP64_END_SIGNATURE = b"PK\x06\x06"
MAX_COMMENT = 0xFFFF


@dataclass(frozen=True)
class Declared:
    entries: int
    directory_bytes: int


def declared(fileobj) -> Declared | None:
    """Entries and central-directory size as the archive's end record states them; None when the
    file has no readable end record (not a ZIP archive, or a damaged one). Leaves the file at 0."""
    try:
        fileobj.seek(0, 2)
        size = fileobj.tell()
        start = max(0, size - END.size - MAX_COMMENT)
        fileobj.seek(start)
        tail = fileobj.read()
        at = tail.rfind(END_SIGNATURE)
        if at < 0 or len(tail) - at < END.size:
            return None
        _, _, _, _, entries, directory, _, _ = END.unpack_from(tail, at)
        if entries == 0xFFFF or directory == 0xFFFFFFFF:
            return _declared_zip64(fileobj, start + at) or Declared(entries, directory)
        return Declared(entries, directory)
    finally:
        fileobj.seek(0)


def _declared_zip64(fileobj, end_at: int) -> Declared | None:
    if end_at < ZIP64_LOCATOR.size:
        return None
    fileobj.seek(end_at - ZIP64_LOCATOR.size)
    signature, _, offset, _ = ZIP64_LOCATOR.unpack(fileobj.read(ZIP64_LOCATOR.size))
    if signature != ZIP64_LOCATOR_SIGNATURE:
        return None
    fileobj.seek(offset)
    record = fileobj.read(ZIP64_END.size)
    if len(record) < ZIP64_END.size or not record.startswith(ZIP64_END_SIGNATURE):
        return None
    fields = ZIP64_END.unpack(record)
    return Declared(entries=fields[7], directory_bytes=fields[8])
