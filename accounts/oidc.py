"""OpenID Connect sign-in (authorization code with PKCE) through mozilla-django-oidc.

The library runs the protocol (state, nonce, PKCE, the code exchange, the ID token's signature
from the provider's JWKS); this backend adds what it leaves out (the ID token's issuer and
audience) and hands the person to accounts.sso, which decides body and role. Switched on by
OIDC_ENABLED; off, it authenticates no one.
"""

import logging

import jwt
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from . import sso

log = logging.getLogger(__name__)

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class OidcBackend(OIDCAuthenticationBackend):
    def authenticate(self, request, **kwargs):
        if not settings.OIDC_ENABLED or request is None:
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if payload.get("iss") != settings.OIDC_OP_ISSUER or settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token issuer or audience does not match")
        self.id_claims = payload
        return payload

    def store_tokens(self, access_token, id_token):
        super().store_tokens(access_token, id_token)
        session = self.request.session
        session[sso.PROVIDER_SESSION_KEY] = "oidc"
        sid = getattr(self, "id_claims", {}).get("sid")
        if sid:
            session[sso.OIDC_SID_SESSION_KEY] = sid

    def get_or_create_user(self, access_token, id_token, payload):
        claims = {**payload, **self.get_userinfo(access_token, id_token, payload)}
        if claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("userinfo sub differs from the ID token's")
        try:
            return sso.sign_in(provider="oidc", subject=str(payload["sub"]), claims=claims)
        except sso.Refused as refusal:
            self.request.session[sso.REFUSAL_SESSION_KEY] = {"provider": "oidc", "seen": refusal.seen}
            log.warning("OIDC sign-in refused: %s", refusal)
            return None


def verify_logout_token(token: str) -> dict:
    """A back-channel logout token (OpenID Connect Back-Channel Logout 1.0, section 2.6): signed
    by the provider, for us, with the logout event, a sub or sid, and no nonce."""
    backend = OidcBackend()
    try:
        key = backend.retrieve_matching_jwk(token)
        claims = jwt.decode(
            token,
            key,
            algorithms=[settings.OIDC_RP_SIGN_ALGO],
            audience=settings.OIDC_RP_CLIENT_ID,
            issuer=settings.OIDC_OP_ISSUER,
            options={"require": ["iat", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise SuspiciousOperation(f"logout token refused: {exc}") from exc
    if BACKCHANNEL_EVENT not in (claims.get("events") or {}):
        raise SuspiciousOperation("logout token without the back-channel logout event")
    if "nonce" in claims:
        raise SuspiciousOperation("logout token carries a nonce")
    if not claims.get("sub") and not claims.get("sid"):
        raise SuspiciousOperation("logout token names neither sub nor sid")
    return claims


def end_session_url(request, id_token: str | None) -> str:
    """Where the browser goes to end the session at the provider too (RP-initiated logout)."""
    from urllib.parse import urlencode

    params = {"client_id": settings.OIDC_RP_CLIENT_ID, "post_logout_redirect_uri": post_logout_url(request)}
    if id_token:
        params["id_token_hint"] = id_token
    return f"{settings.OIDC_OP_LOGOUT_ENDPOINT}?{urlencode(params)}"


def post_logout_url(request) -> str:
    from django.urls import reverse

    return request.build_absolute_uri(reverse("login"))
