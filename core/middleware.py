"""Requests refused before any view runs.

- A body larger than any legitimate request, judged by its Content-Length before a byte of it is
  read: a form or JSON body over DATA_UPLOAD_MAX_MEMORY_SIZE, a multipart upload over
  EVIDENCE_MAX_BYTES plus that. Django checks only a form's fields against the first limit (files
  are spooled to disk whatever their size) and DRF's JSON parser does not check at all.
  413, as the API's JSON error or a Chinese page.
- An API call with a query parameter that the OpenAPI schema does not document for that
  operation: 400 `unknown_parameter`, naming it. A misspelt filter (`?stauts=verified`) would
  otherwise be ignored and answer with everything. The schema is the one /api/schema/ serves
  (drf-spectacular, generated once per process), so what is documented and what is accepted
  cannot drift apart, and a new endpoint is covered as it is added. DRF's `format` parameter
  (content negotiation) is accepted everywhere.
- A NUL (or another control character but tab and line breaks) in any query parameter's name or
  value, on any page or API call: 400 `control_character`. PostgreSQL cannot store or compare a
  NUL in text, so such a value that reached a filter was a 500.

And on the way out (`PrivateCacheMiddleware`): every answer to a logged-in person (a session or
an API token) says `Cache-Control: private, no-store`, so that neither a shared proxy nor the
browser's disk keeps a page or a list of another body's work.
"""

import functools
import re
import threading

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import UnreadablePostError
from django.shortcuts import render
from rest_framework.settings import api_settings

from core.exceptions import error_json
from core.parsers import INCOMPLETE_MESSAGE
from core.validators import safe_text

API_PREFIX = "/api/"


def _content_length(request) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def body_limit(request) -> int | None:
    """The largest body a request of this content type can legitimately have (None: no limit)."""
    fields = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if fields is None:
        return None
    if request.content_type.startswith("multipart/"):
        return settings.EVIDENCE_MAX_BYTES + fields
    return fields


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} MB"


def too_large(request, limit: int):
    message = f"请求内容过大（上限 {_megabytes(limit)}），请缩小文件或分多次提交"
    details = {"limit_bytes": limit, "content_length": _content_length(request)}
    if request.path_info.startswith(API_PREFIX):
        return error_json("request_too_large", message, details, status=413)
    return render(request, "request_too_large.html", {"message": message}, status=413)


# A new process's first requests arrive together (gunicorn's threads): the schema is built by one
# of them while the others wait, not by each at once (seconds of CPU each, and drf-spectacular's
# generator is not written to run in several threads at once).
_operations_lock = threading.Lock()


def _operations() -> list[tuple[str, re.Pattern, frozenset[str]]]:
    with _operations_lock:
        return _schema_operations()


@functools.cache
def _schema_operations() -> list[tuple[str, re.Pattern, frozenset[str]]]:
    """(method, path pattern, documented query parameters) per operation; literal paths first."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for template, methods in schema["paths"].items():
        pattern = re.compile("[^/]+".join(re.escape(part) for part in re.split(r"\{[^}]+\}", template)) + r"\Z")
        literal = len(re.sub(r"\{[^}]+\}", "", template))
        for method, operation in methods.items():
            names = frozenset(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")
            operations.append((literal, method.upper(), pattern, names))
    operations.sort(key=lambda item: -item[0])
    return [(method, pattern, names) for _, method, pattern, names in operations]


def documented_query_parameters(method: str, path: str) -> frozenset[str] | None:
    """The query parameters the schema documents for this call; None for an undocumented call
    (DRF answers those itself: 404, 405)."""
    for documented_method, pattern, names in _operations():
        if documented_method == method and pattern.match(path):
            return names | {api_settings.URL_FORMAT_OVERRIDE}
    return None


def unknown_parameters(request):
    if not request.path_info.startswith(API_PREFIX) or not request.GET:
        return None
    allowed = documented_query_parameters(request.method, request.path_info)
    if allowed is None:
        return None
    unknown = sorted(set(request.GET) - allowed)
    if not unknown:
        return None
    offered = "、".join(sorted(allowed - {api_settings.URL_FORMAT_OVERRIDE})) or "无"
    return error_json(
        "unknown_parameter",
        f"不支持的查询参数：{'、'.join(unknown)}（本接口可用：{offered}）",
        {"unknown_parameters": unknown, "allowed_parameters": sorted(allowed)},
    )


def control_characters(request):
    """The refusal of a query string holding a control character, or None."""
    for name, values in request.GET.lists():
        for text in (name, *values):
            try:
                safe_text(text)
            except ValidationError as error:
                if error.code != "control_character":
                    continue
                message = f"查询参数{error.message % error.params}"
                if request.path_info.startswith(API_PREFIX):
                    return error_json("control_character", message, {name: [message]})
                return render(request, "400.html", {"message": message}, status=400)
    return None


# Answers under /api/ that Django writes itself (a path nothing serves, a method a plain view does
# not take) get the API's error shape too, not an HTML page or an empty body.
API_FALLBACKS = {
    404: ("not_found", "接口不存在：请核对地址（/api/docs/ 列出全部接口）"),
    405: ("method_not_allowed", "不支持该请求方法"),
}


def api_shaped(request, response):
    if not request.path_info.startswith(API_PREFIX) or response.status_code not in API_FALLBACKS:
        return response
    if response.get("Content-Type", "").startswith("application/json"):
        return response
    code, message = API_FALLBACKS[response.status_code]
    shaped = error_json(code, message, status=response.status_code)
    if response.has_header("Allow"):
        shaped["Allow"] = response["Allow"]
    return shaped


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = body_limit(request)
        if limit is not None and _content_length(request) > limit:
            return too_large(request, limit)
        response = control_characters(request) or unknown_parameters(request) or self.get_response(request)
        return api_shaped(request, response)

    def process_exception(self, request, exception):
        """A body that could not be read (the client went away half-way) is the client's doing:
        400, not a 500 with a traceback. The API's views answer it themselves (exceptions.py)."""
        if not isinstance(exception, UnreadablePostError):
            return None
        if request.path_info.startswith(API_PREFIX):
            return error_json("incomplete_body", INCOMPLETE_MESSAGE)
        return render(request, "400.html", status=400)


PRIVATE = "private, no-store"


class PrivateCacheMiddleware:
    """Cache-Control: private, no-store on every answer to a logged-in person. DRF sets the
    authenticated user (token or session) on the request it wraps, so API answers are covered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = PRIVATE
            if "Expires" in response:
                del response["Expires"]
        return response
