"""Authentication backends.

`LoginThrottleBackend` is django-axes' standalone backend (it refuses a username+IP pair that is
locked out; ModelBackend does the actual login). Axes needs the request to know the client's
address, and refuses to run without one. Every login path of the app passes the request (the
login view, DRF's token serializer, the admin); the calls that have none are Django's test client
`login()` and code run from a shell, which have no client address to throttle, so for them this
backend steps aside instead of raising.
"""

from axes.backends import AxesStandaloneBackend


class LoginThrottleBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
