"""The project's one clock: dates are Asia/Shanghai (TIME_ZONE), whatever the server's zone."""

import datetime as dt

from django.utils import timezone


def today() -> dt.date:
    return timezone.localdate()
