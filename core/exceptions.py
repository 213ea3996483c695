"""One error shape for the whole API: {"code": "<machine_code>", "message": "<中文说明>", "details": {...}}.

Set as REST_FRAMEWORK["EXCEPTION_HANDLER"]; every helper's API reuses it.
"""

import errno

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ServiceError
from core.validators import PRECISE_CODES

from .parsers import INCOMPLETE_MESSAGE

MESSAGES = {
    "not_authenticated": "请先登录或提供有效的令牌",
    "authentication_failed": "身份验证失败",
    "permission_denied": "您无权执行此操作",
    "not_found": "未找到该对象",
    "method_not_allowed": "不支持该请求方法",
    "not_acceptable": "无法满足请求的内容格式",
    "unsupported_media_type": "不支持的请求内容类型",
    "throttled": "请求过于频繁，请稍后再试",
    "parse_error": "请求内容无法解析",
}

# Errors of reading the request body that Django raises and DRF leaves alone (Django would answer
# with its HTML 400 page or a 500): code, message, status.
BODY_ERRORS = [
    (RequestDataTooBig, "request_too_large", "请求内容过大", 413),
    (MultiPartParserError, "parse_error", "上传内容不完整或格式有误，未保存任何内容", 400),
    (UnreadablePostError, "incomplete_body", INCOMPLETE_MESSAGE, 400),
    ((TooManyFieldsSent, TooManyFilesSent), "too_many_fields", "提交的字段或文件过多", 400),
    (SuspiciousOperation, "bad_request", "请求无法处理", 400),
]


def _flatten(detail):
    """DRF's nested ErrorDetail structures -> plain lists of strings per field."""
    if isinstance(detail, dict):
        return {str(key): _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [str(item) for item in detail]
        return [_flatten(item) for item in detail]
    return [str(detail)]


def _first_message(detail) -> str:
    """The first message anywhere in a nested error structure (lists of items give dicts keyed by index)."""
    if isinstance(detail, str):
        return detail
    values = detail.values() if isinstance(detail, dict) else detail if isinstance(detail, list) else []
    for value in values:
        found = _first_message(value)
        if found:
            return found
    return ""


def _leaf_codes(codes) -> set[str]:
    if isinstance(codes, dict):
        codes = list(codes.values())
    if isinstance(codes, list):
        return set().union(*(_leaf_codes(code) for code in codes))
    return {str(codes)}


def _validation_code(exc: exceptions.ValidationError) -> str:
    """The precise code of a rule of core.validators (a control character, a bidi override,
    a date out of range …) when that is the request's only problem, "invalid" otherwise."""
    codes = _leaf_codes(exc.get_codes())
    if len(codes) == 1 and codes <= PRECISE_CODES:
        return codes.pop()
    return "invalid"


def error_response(code: str, message: str, details: dict | None = None, status_code: int = 400, headers=None):
    return Response({"code": code, "message": message, "details": details or {}}, status=status_code, headers=headers)


def error_json(code: str, message: str, details: dict | None = None, status: int = 400) -> JsonResponse:
    """The same shape outside DRF (middleware)."""
    return JsonResponse(
        {"code": code, "message": message, "details": details or {}},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        return error_response(exc.code, exc.message, exc.details, exc.status)
    for kind, code, message, status_code in BODY_ERRORS:
        if isinstance(exc, kind):
            return error_response(code, message, status_code=status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real server error: let Django log it and answer 500
    if isinstance(exc, exceptions.ValidationError):
        details = _flatten(exc.detail)
        if not isinstance(details, dict):
            details = {"non_field_errors": details}
        first = _first_message(details)
        message = f"提交的内容有误：{first}" if first else "提交的内容有误"
        response.data = {"code": _validation_code(exc), "message": message, "details": details}
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    if not isinstance(code, str):
        code = "error"
    message = MESSAGES.get(code) or str(getattr(exc, "detail", "")) or "请求失败"
    response.data = {"code": code, "message": message, "details": {}}
    return response


# A request the server could not finish, in the API's shape (tracker.views.server_error, Django's
# handler500): what went wrong, as far as the person can act on it; the traceback goes to the log.
STORAGE_FULL = ("storage_full", "存储空间不足，文件未能保存，请联系系统管理员清理空间后重试", 507)
DATABASE_UNAVAILABLE = ("database_unavailable", "数据库暂时无法访问，本次操作未完成，请稍后重试", 503)
SERVER_ERROR = ("server_error", "服务器内部错误，本次操作未完成，请稍后重试或联系系统管理员", 500)


def _causes(exc):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def server_error_shape(exc) -> tuple[str, str, int]:
    """(code, message, status) of an unhandled exception: a full disk, the database away, or else."""
    for cause in _causes(exc):
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return STORAGE_FULL
        if isinstance(cause, OperationalError | InterfaceError):
            return DATABASE_UNAVAILABLE
    return SERVER_ERROR
