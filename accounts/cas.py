"""CAS 2.0/3.0 sign-in through django-cas-ng.

The library validates the service ticket (serviceValidate / p3/serviceValidate); this backend
hands the CAS user and its attributes to accounts.sso, which decides body and role, instead of
the library's own user creation. Switched on by CAS_ENABLED; off, it authenticates no one.
"""

import logging

from cas import CASClientV3
from django.conf import settings
from django.contrib.sessions.models import Session
from django_cas_ng.backends import CASBackend
from django_cas_ng.models import SessionTicket
from django_cas_ng.utils import get_cas_client

from . import sso

log = logging.getLogger(__name__)


class CasBackend(CASBackend):
    def authenticate(self, request, ticket, service):
        if not settings.CAS_ENABLED or request is None:
            return None
        client = get_cas_client(service_url=service, request=request)
        username, attributes, _pgtiou = client.verify_ticket(ticket)
        if not username:
            return None
        claims = {**(attributes or {}), "user": username}
        try:
            user = sso.sign_in(provider="cas", subject=str(username), claims=claims)
        except sso.Refused as refusal:
            request.session[sso.REFUSAL_SESSION_KEY] = {"provider": "cas", "seen": refusal.seen}
            log.warning("CAS sign-in refused: %s", refusal)
            return None
        request.session[sso.PROVIDER_SESSION_KEY] = "cas"
        return user if self.user_can_authenticate(user) else None


def single_logout(logout_request: str) -> int:
    """End the sessions a CAS single-logout request names (its SessionIndex is the service
    ticket they signed in with). The same SAML message for CAS 2.0 and 3.0 servers."""
    ended = 0
    for slo in CASClientV3.get_saml_slos(logout_request) or []:
        ticket = (slo.text or "").strip()
        if not ticket:
            continue
        keys = list(SessionTicket.objects.filter(ticket=ticket).values_list("session_key", flat=True))
        ended += Session.objects.filter(session_key__in=keys).delete()[0]
        SessionTicket.objects.filter(ticket=ticket).delete()
    return ended
