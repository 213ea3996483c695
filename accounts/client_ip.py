"""The client's address, for login throttling (and anything else that keys on it).

Behind TRUSTED_PROXY_COUNT reverse proxies, each of which appends the address it received the
request from to X-Forwarded-For (nginx: `$proxy_add_x_forwarded_for`), the client is the N-th
address from the right. Everything left of it was written by the client and can be forged, so
it is never used. With no trusted proxy, REMOTE_ADDR is the client.
"""

from ipaddress import ip_address

from django.conf import settings


def client_ip(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if not count:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < count:
        # Misconfigured proxy chain (or a request that bypassed the proxy): do not trust the header.
        return remote
    candidate = forwarded[-count]
    try:
        return str(ip_address(candidate))
    except ValueError:
        return remote
