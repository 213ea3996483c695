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
    return session_keys(user_id=user.pk)


def session_keys(*, user_id: int | None = None, values: dict | None = None) -> list[str]:
    """Keys of the live sessions of a user (when given) holding these values (when given)."""
    keys = []
    for session in Session.objects.filter(expire_date__gt=clock.now()).iterator(chunk_size=500):
        data = session.get_decoded()
        if user_id is not None and str(data.get("_auth_user_id")) != str(user_id):
            continue
        if values and any(data.get(name) != value for name, value in values.items()):
            continue
        keys.append(session.session_key)
    return keys


@transaction.atomic
def end_sessions(*, user_id: int | None = None, values: dict | None = None) -> int:
    """End the sessions `session_keys` finds (the identity service's back-channel logout).
    Nothing at all when neither a user nor values are given."""
    if user_id is None and not values:
        return 0
    ended, _ = Session.objects.filter(session_key__in=session_keys(user_id=user_id, values=values)).delete()
    return ended


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
