"""Every request has an id; every 5xx leaves one structured log line with its traceback.

- `RequestIdMiddleware` (first in MIDDLEWARE) gives each request an id: the proxy's
  `X-Request-ID` when it sent a sane one (nginx: `proxy_set_header X-Request-ID $request_id`),
  a new one otherwise. The answer carries it back in `X-Request-ID`, and every log record made
  while the request runs has it (`RequestIdFilter`), so one id finds the access log line, the
  error and what the user reports.
- Any answer of 500 or more is logged once on `tracker.errors` at ERROR, as one JSON object
  (`JsonFormatter`): request id, method, path, status, user, and the traceback of the exception
  that caused it (caught through Django's `got_request_exception`, whichever view or middleware
  raised it). Under load, a 500 among thousands of requests is found by its id, not guessed at.
"""

import contextvars
import datetime as dt
import json
import logging
import re
import sys
import traceback
import uuid

from django.core.signals import got_request_exception, request_finished
from django.dispatch import receiver

HEADER = "X-Request-ID"
ERRORS_LOGGER = "tracker.errors"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}\Z")
_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

logger = logging.getLogger(ERRORS_LOGGER)


def current_request_id() -> str:
    return _current.get()


@receiver(got_request_exception)
def _keep_exception(sender, request=None, **kwargs):
    # Sent inside Django's except block: sys.exc_info() is the exception that became the 500.
    if request is not None:
        request._unhandled_exc_info = sys.exc_info()


@receiver(request_finished)
def _forget_request_id(sender, **kwargs):
    _current.set("-")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sent = request.headers.get(HEADER, "")
        request_id = sent if _SANE_ID.match(sent) else uuid.uuid4().hex
        request.request_id = request_id
        # Kept until the request is finished, not only while the middleware runs: Django logs a
        # 4xx or 5xx answer (django.request) after the last middleware has returned.
        _current.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        if response.status_code >= 500:
            self._log(request, response)
        return response

    @staticmethod
    def _log(request, response) -> None:
        user = getattr(request, "user", None)
        exc_info = getattr(request, "_unhandled_exc_info", None)
        logger.error(
            "server error %s %s -> %s",
            request.method,
            request.path,
            response.status_code,
            exc_info=exc_info if exc_info and exc_info[0] else None,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "user_id": user.pk if user is not None and user.is_authenticated else None,
            },
        )


class RequestIdFilter(logging.Filter):
    """Puts the running request's id on every record (`-` outside a request)."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = _current.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, the request fields
    given as `extra`, and the traceback as one string."""

    FIELDS = ("method", "path", "status", "user_id")

    def format(self, record):
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", _current.get()),
        }
        entry |= {name: getattr(record, name) for name in self.FIELDS if hasattr(record, name)}
        if record.exc_info:
            entry["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, ensure_ascii=False)
