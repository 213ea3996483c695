"""Shared fixtures: the registry, the seed regulation, and the cast of users every
permission test is run with (staff of one body, a colleague, staff of another body, the lead,
an auditor, an admin)."""

from pathlib import Path

import pytest

# The local OpenID Connect provider (node's oidc-provider) and the switch that points the app at it.
from tests.oidc_provider import oidc_on, oidc_provider  # noqa: F401 (fixtures)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEED_TEXT = FIXTURES / "jinan-digital-economy-promotion-2024.txt"


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # PBKDF2 at production strength costs about a second per user on this machine; tests create
    # many users. Subprocess tests (workers, manage.py) keep the real hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _local_robots(settings):
    # The tests' group robots are HTTP servers on 127.0.0.1: for them that is the internal
    # gateway (notifications/addresses.py). tests/test_webhook_addresses.py sets its own lists.
    settings.WEBHOOK_INTERNAL_HOSTS = ["127.0.0.1"]


@pytest.fixture(autouse=True)
def _forget_official_schedules():
    # core.calendar keeps the holiday schedules it read for a minute; a test's rolled-back
    # schedule must not reach the next test.
    yield
    from core.calendar import forget_official_schedules

    forget_official_schedules()
    from regulations.models import forget_many_regulations

    forget_many_regulations()


@pytest.fixture
def departments(db):
    from regulations.registry import load_departments

    load_departments()
    from accounts.models import Department

    return {d.code: d for d in Department.objects.all()}


@pytest.fixture
def seed_text() -> str:
    return SEED_TEXT.read_text(encoding="utf-8")


@pytest.fixture
def regulation(departments, seed_text):
    from obligations.seeding import import_regulation

    return import_regulation(seed_text, code="jinan-digital-economy").regulation


def make_user(username, role, department, password="pw-Secret-123"):  # noqa: S107
    from accounts.models import User

    user = User.objects.create_user(
        username=username,
        password=password,
        role=role,
        department=department,
        full_name=username,
        email=f"{username}@example.gov.cn",
    )
    return user


@pytest.fixture
def cast(departments):
    """alice and bob work at 大数据局, carol at 发改委, lena leads at 工信局, audrey audits, adam administers."""
    from accounts.models import User

    R = User.Role
    return {
        "alice": make_user("alice", R.STAFF, departments["JN-DSJ"]),
        "bob": make_user("bob", R.STAFF, departments["JN-DSJ"]),
        "carol": make_user("carol", R.STAFF, departments["JN-FGW"]),
        "dave": make_user("dave", R.STAFF, departments["JN-LIXIA"]),
        "lena": make_user("lena", R.LEAD, departments["JN-GXJ"]),
        "audrey": make_user("audrey", R.AUDITOR, departments["JN-SJJ"]),
        "adam": make_user("adam", R.ADMIN, departments["JN-DSJ"]),
    }
