"""Request parsers of the API."""

from django.utils.http import parse_header_parameters
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, MultiPartParser

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


# Deeper than any body the API documents (an object of lists of objects is three), shallow enough
# that nothing downstream (validation, the audit entry's JSON, the renderer) recurses far.
MAX_JSON_DEPTH = 32
TOO_DEEP_MESSAGE = f"JSON 嵌套层数过多（上限 {MAX_JSON_DEPTH} 层）"


def json_depth(value) -> int:
    """How deep lists and objects nest in a parsed JSON value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list))
    return deepest


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSON parser, but a body nested deeper than MAX_JSON_DEPTH is 400 `parse_error`.
    Python's json module gives up at about a thousand levels with RecursionError, which DRF
    leaves to become a 500; shallower but still absurd nesting would reach the serializers."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP_MESSAGE) from None
        if json_depth(data) > MAX_JSON_DEPTH:
            raise ParseError(TOO_DEEP_MESSAGE)
        return data
