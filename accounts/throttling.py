"""Throttling of API logins (token creation) by the same lockout as the login form.

django-axes already records every failed `authenticate()` call, including DRF's token serializer
(it passes the request). Once a username+IP pair is locked out, authenticate() refuses even the
right password, but DRF would answer 400 "unable to log in". `LoginLockoutThrottle` answers 429
with Retry-After instead, and does so before the password is checked at all.

Wire it on any view that takes a username and password:

    class TokenCreateView(APIView):
        throttle_classes = [LoginLockoutThrottle]

State lives in axes' database tables, so it holds across gunicorn processes without a shared cache.
"""

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from rest_framework.throttling import BaseThrottle


class LoginLockoutThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        if not settings.AXES_ENABLED or request.method != "POST":
            return True
        username = request.data.get("username") if hasattr(request.data, "get") else None
        if not isinstance(username, str) or "\x00" in username:
            # Not a username at all: the view's serializer refuses it (400) before any password is
            # checked, and the database could not even look it up (PostgreSQL text has no NUL).
            return True
        # Axes works on the Django request (the client address is in its META).
        return not AxesProxyHandler.is_locked(request._request, {"username": username})

    def wait(self) -> float | None:
        cool_off = get_cool_off()
        return cool_off.total_seconds() if cool_off else None
