"""Sign-in through the unified identity service (统一身份认证): OpenID Connect or CAS.

The protocol clients (accounts.oidc, accounts.cas) only prove who the person is; this module
decides what the person is here. `sign_in()` reads the claims (OIDC ID token and userinfo) or
attributes (CAS) through the admin's mapping (BodyMapping → 所属机构, RoleMapping → 角色) and
creates the account at the first sign-in or brings it up to date at each. A person whose claims
give no body is refused (`Refused`) and nothing is created; an account that no longer maps to a
body is deactivated, which ends its sessions and API tokens (accounts.receivers). Every
provisioning and every change of body, role or active state is sent as `account_changed`, which
the audit trail records in the same transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.db import transaction

from core import clock
from core.validators import safe_text

from .models import BodyMapping, Department, ExternalIdentity, RoleMapping, User
from .signals import account_changed

# The session key under which a refused sign-in is handed to the refusal page.
REFUSAL_SESSION_KEY = "sso_refusal"
# The session keys of a session signed in through the identity service.
PROVIDER_SESSION_KEY = "sso_provider"
OIDC_SID_SESSION_KEY = "oidc_sid"


class Change(StrEnum):
    PROVISIONED = "provisioned"
    UPDATED = "updated"
    DEPROVISIONED = "deprovisioned"


@dataclass
class Refused(Exception):
    """The claims give no body: nothing is created (an existing account is deactivated)."""

    provider: str
    subject: str
    seen: dict = field(default_factory=dict)  # the mapped claims as received, for the admin

    def __str__(self) -> str:
        return f"{self.provider}:{self.subject} maps to no body"


def _values(claims: dict, name: str) -> list[str]:
    value = claims.get(name)
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value if item is not None]
    return [str(value)]


def mapped_claim_names() -> set[str]:
    return set(BodyMapping.objects.values_list("claim", flat=True)) | set(
        RoleMapping.objects.values_list("claim", flat=True)
    )


def body_for(claims: dict) -> Department | None:
    """The first mapping row that gives an active body, in the admin's order."""
    for row in BodyMapping.objects.select_related("department"):
        values = _values(claims, row.claim)
        if row.value:
            if row.value in values and row.department is not None and row.department.active:
                return row.department
        else:
            body = Department.objects.filter(code__in=values, active=True).order_by("sort_order", "code").first()
            if body is not None:
                return body
    return None


def role_for(claims: dict) -> str:
    for row in RoleMapping.objects.all():
        if row.value in _values(claims, row.claim):
            return row.role
    return User.Role.STAFF


def _text(claims: dict, *names: str, limit: int) -> str:
    """The first of these claims that is text we would accept from a person (core.validators:
    no control or bidi characters, something visible, within the field's length); else none."""
    for name in names:
        value = claims.get(name)
        if isinstance(value, str) and value.strip() and len(value.strip()) <= limit:
            try:
                safe_text(value.strip())
            except ValidationError:
                continue
            return value.strip()
    return ""


def _new_username(provider: str, subject: str, claims: dict) -> str:
    """The identity service's login name when free here, else one derived from the subject."""
    login_name = _text(claims, "preferred_username", "username", "user", limit=150)
    for candidate in (login_name, subject, f"{provider}-{subject}"):
        if _usable_username(candidate) and not User.objects.filter(username=candidate).exists():
            return candidate
    return f"{provider}-{hashlib.sha256(subject.encode()).hexdigest()[:20]}"


def _usable_username(name: str) -> bool:
    try:
        User.username_validator(name)
    except ValidationError:
        return False
    return 0 < len(name) <= 150


def _state(user: User) -> dict:
    return {
        "user": user.username,
        "department": user.department.code if user.department_id else None,
        "role": user.role,
        "active": user.is_active,
    }


def _changed(user: User, change: Change, provider: str, before: dict, after: dict) -> None:
    account_changed.send(sender=User, user=user, action=change, before=before, after={**after, "via": provider})


def sign_in(*, provider: str, subject: str, claims: dict) -> User:
    """The account of the person the identity service vouched for, created or brought up to date.

    Raises Refused when the claims give no body, after the deactivation of an existing account
    (and its audit entry) is committed. An account the admin deactivated stays deactivated (the
    caller refuses it like a local inactive account)."""
    with transaction.atomic():
        result = _sign_in(provider, subject, claims)
    if isinstance(result, Refused):
        raise result
    return result


def _sign_in(provider: str, subject: str, claims: dict) -> User | Refused:
    now = clock.now()
    kept = {name: claims[name] for name in sorted(mapped_claim_names()) if name in claims}
    identity = (
        ExternalIdentity.objects.select_for_update(of=("self", "user"))
        .select_related("user")
        .filter(provider=provider, subject=subject)
        .first()
    )
    body = body_for(claims)
    if body is None:
        if identity is not None and identity.user.is_active:
            user = identity.user
            before = _state(user)
            user.is_active = False
            user.save(update_fields=["is_active"])  # ends its sessions and tokens (accounts.receivers)
            _changed(user, Change.DEPROVISIONED, provider, before, _state(user))
        return Refused(provider, subject, kept)
    role = role_for(claims)
    full_name = _text(claims, "name", "full_name", "cn", "displayName", limit=50)
    email = _text(claims, "email", "mail", limit=254)
    if identity is None:
        user = User(
            username=_new_username(provider, subject, claims),
            full_name=full_name,
            email=email,
            department=body,
            role=role,
        )
        user.set_unusable_password()  # signs in through the identity service only
        user.save()
        ExternalIdentity.objects.create(
            user=user, provider=provider, subject=subject, claims=kept, first_seen=now, last_seen=now
        )
        _changed(user, Change.PROVISIONED, provider, {}, _state(user))
        return user
    user = identity.user
    before = _state(user)
    user.department, user.role = body, role
    user.full_name = full_name or user.full_name
    user.email = email or user.email
    user.save(update_fields=["department", "role", "full_name", "email"])
    identity.claims, identity.last_seen = kept, now
    identity.save(update_fields=["claims", "last_seen"])
    after = _state(user)
    if (before["department"], before["role"]) != (after["department"], after["role"]):
        _changed(user, Change.UPDATED, provider, before, after)
    return user
