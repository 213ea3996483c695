"""CSV: UTF-8 with a BOM (so that Excel on Windows reads the Chinese), header lines, then one row
per obligation. Streams: each row is encoded as soon as it is built."""

import csv
import io
from collections.abc import Iterator

from . import asof
from .columns import OBLIGATION_COLUMNS, as_text, neutralise, obligation_values

BOM = "\ufeff"
BATCH = 500


def _line(values) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([as_text(neutralise(v)) for v in values])
    return buffer.getvalue()


def stream(ctx: asof.ReportContext, progress=None) -> Iterator[bytes]:
    yield (BOM + _line([ctx.title])).encode("utf-8")
    for label, value in ctx.header_lines():
        yield _line([label, value]).encode("utf-8")
    yield _line([]).encode("utf-8")
    yield _line([title for title, _, _, _ in OBLIGATION_COLUMNS]).encode("utf-8")
    # One writer over one buffer, emptied every BATCH rows (not a writer per row).
    buffer = io.StringIO()
    writerow = csv.writer(buffer, lineterminator="\r\n").writerow
    done = 0
    for done, row in enumerate(asof.iter_obligation_rows(ctx), start=1):
        writerow([as_text(neutralise(v)) for v in obligation_values(row)])
        if done % BATCH == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            if progress:
                progress(done)
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")
    if progress:
        progress(done)


def write(ctx: asof.ReportContext, out, progress=None) -> None:
    for chunk in stream(ctx, progress):
        out.write(chunk)
