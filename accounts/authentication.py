"""DRF authentication with hashed API tokens (`Authorization: Token jt_...`)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from core import clock

from .models import ApiToken
from .tokens import KEY_PREFIX, key_digest

# Writing last_used_at on every request would turn every API read into a write; once a minute is
# enough to tell a person whether a token is still in use.
LAST_USED_RESOLUTION_SECONDS = 60


class HashedTokenAuthentication(TokenAuthentication):
    """Looks the key up by its SHA-256 digest. The project's one kind of API token: DRF's plain
    tokens (keys stored in clear) were ended by accounts migration 0004."""

    keyword = "Token"

    def authenticate_credentials(self, key):
        if not key.startswith(KEY_PREFIX):
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        try:
            token = ApiToken.objects.select_related("user").get(digest=key_digest(key))
        except ApiToken.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        now = clock.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return (token.user, token)
