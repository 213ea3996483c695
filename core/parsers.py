"""Request parsers of the API."""

from django.utils.http import parse_header_parameters
from rest_framework.exceptions import ParseError
from rest_framework.parsers import MultiPartParser

INCOMPLETE_MESSAGE = "上传内容不完整（传输中断或被截断），未保存任何内容，请重新上传"


class _WatchedStream:
    """Passes reads through, noting whether the multipart closing delimiter went by."""

    def __init__(self, stream, closing: bytes):
        self.stream = stream
        self.closing = closing
        self.tail = b""
        self.closed_properly = False

    def read(self, size=-1):
        chunk = self.stream.read(size)
        if not self.closed_properly and chunk:
            self.closed_properly = self.closing in self.tail + chunk
            self.tail = (self.tail + chunk)[-len(self.closing) :]
        return chunk


class CompleteMultiPartParser(MultiPartParser):
    """DRF's multipart parser, but a body that ends before its closing boundary (a connection cut
    short, a Content-Length larger than what arrived, a proxy that truncated it) is refused with
    400 `incomplete_body`. Django's own parser keeps whatever parts arrived whole and silently
    drops the one cut in the middle (the file, usually), which reads as "no file was chosen"."""

    def parse(self, stream, media_type=None, parser_context=None):
        boundary = parse_header_parameters(media_type or "")[1].get("boundary", "")
        if stream is None or not boundary:
            return super().parse(stream, media_type, parser_context)
        watched = _WatchedStream(stream, b"--" + boundary.encode("ascii", "replace") + b"--")
        result = super().parse(watched, media_type, parser_context)
        if not watched.closed_properly:
            for upload in result.files.values():
                upload.close()  # a spooled temporary file is deleted on close
            raise ParseError(INCOMPLETE_MESSAGE, code="incomplete_body")
        return result
