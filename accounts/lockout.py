"""django-axes' login lockout, with a second limit: per address, across usernames.

Axes locks a username+address pair after LOGIN_FAILURE_LIMIT failures. Password spraying tries a
password or two for many usernames from one address and never reaches that limit. This handler
also locks an address out once its failures over all usernames reach LOGIN_ADDRESS_FAILURE_LIMIT
within the cool-off (LOGIN_LOCKOUT_MINUTES). The limit is higher than the per-user one: the staff
of a whole office may sit behind one NAT address.

Set as AXES_HANDLER, so everything that asks axes (the login form's backend, the API's
LoginLockoutThrottle, axes' middleware and its Chinese lockout page) applies both limits. The count
comes from axes' own table: it holds across processes, and failures made while locked out are not
recorded (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so a lockout is not extended by retrying.
"""

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum

from core import clock

from .client_ip import client_ip


def address_failures(ip_address: str | None) -> int:
    """Failed logins from this address, over all usernames, within the cool-off."""
    if not ip_address:
        return 0
    since = clock.now() - get_cool_off()
    attempts = AccessAttempt.objects.filter(ip_address=ip_address, attempt_time__gte=since)
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


class LoginLockoutHandler(AxesDatabaseHandler):
    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        # A sign-in through the identity service that ends without a user here (claims mapped to
        # no body, a stale state, a forged ticket) guessed no password: it must not lock the
        # office's address out of the login form.
        if "username" not in (credentials or {}):
            return None
        return super().user_login_failed(sender, credentials, request, **kwargs)

    def is_locked(self, request, credentials=None) -> bool:
        if super().is_locked(request, credentials):
            return True
        limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
        address = getattr(request, "axes_ip_address", None) or client_ip(request)
        return bool(limit) and address_failures(address) >= limit
