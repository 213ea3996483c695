"""Writes on accounts: API tokens and ending a user's sessions everywhere."""

from dataclasses import dataclass

from django.contrib.sessions.models import Session
from django.db import transaction

from core import clock

from .models import ApiToken, User
from .tokens import SHOWN_PREFIX_LENGTH, key_digest, new_key


@transaction.atomic
def api_token_create(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token and return it with its key. The key is not stored and cannot be shown again."""
    key = new_key()
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=key[:SHOWN_PREFIX_LENGTH], digest=key_digest(key)
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> bool:
    """Revoke one of the user's own tokens. False when the user has no such token."""
    deleted, _ = ApiToken.objects.filter(user=user, id=token_id).delete()
    return deleted > 0


def user_session_keys(*, user: User) -> list[str]:
    """Keys of the user's live database sessions.

    Django stores the user id inside the encoded session data, so this decodes every live session:
    linear in the number of live sessions (a few thousand for a city government: milliseconds).
    """
    keys = []
    uid = str(user.pk)
    for session in Session.objects.filter(expire_date__gt=clock.now()).iterator(chunk_size=500):
        if str(session.get_decoded().get("_auth_user_id")) == uid:
            keys.append(session.session_key)
    return keys


@dataclass
class LogoutEverywhere:
    sessions: int
    tokens: int


@transaction.atomic
def user_logout_everywhere(*, user: User) -> LogoutEverywhere:
    """End every session of the user (all browsers, all devices) and revoke every API token. The
    one way access ends: the "log out everywhere" button, a changed password and a deactivated
    account (accounts.receivers calls it for the latter two, whoever made the change)."""
    sessions, _ = Session.objects.filter(session_key__in=user_session_keys(user=user)).delete()
    tokens, _ = ApiToken.objects.filter(user=user).delete()
    return LogoutEverywhere(sessions=sessions, tokens=tokens)
