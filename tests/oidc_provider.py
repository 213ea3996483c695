"""A real OpenID Connect provider for the tests: node's oidc-provider (tests/oidc/provider.mjs, a
dev dependency in package.json) started as a local process on loopback, like the Celery worker.

`oidc_provider` starts it for a module, with one static client pointing at the live server and
the accounts below; `oidc_on` switches the app's OpenID Connect sign-in on against it, with the
mapping the accounts need (org_code → body, groups → role).
"""

import json
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
SCRIPT = BASE_DIR / "tests" / "oidc" / "provider.mjs"
CLIENT_ID = "tracker"
CLIENT_SECRET = "test-only-client-secret-0123456789abcdef"  # noqa: S105 (a test provider's client)
PASSWORD = "idp-pass-2025"  # noqa: S105

# People at the identity service: a staff member of 大数据局, the lead, an auditor, and a person
# whose organisation has no body here.
ACCOUNTS = {
    "zhang.wei": {"name": "张伟", "org_code": "JN-DSJ", "groups": ["tracker-staff"]},
    "li.na": {"name": "李娜", "org_code": "JN-GXJ", "groups": ["tracker-lead"]},
    "wang.fang": {"name": "王芳", "org_code": "JN-SJJ", "groups": ["tracker-auditor"]},
    "zhao.lei": {"name": "赵磊", "org_code": "SD-XYZ-999", "groups": []},
}


@dataclass
class Provider:
    issuer: str
    process: subprocess.Popen
    log_path: Path
    config_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def set_claims(self, login: str, **claims) -> None:
        raise NotImplementedError("restart the provider to change claims")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(app_url: str, tmp_dir: Path, accounts: dict | None = None) -> Provider:
    node = shutil.which("node")
    if node is None or not (BASE_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("node and the oidc-provider dev dependency are needed: run `npm ci`")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    config = {
        "port": port,
        "issuer": issuer,
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"{app_url}/accounts/oidc/callback/"],
                "post_logout_redirect_uris": [f"{app_url}/accounts/login/"],
                # node resolves "localhost" to ::1 first; the live server listens on IPv4.
                "backchannel_logout_uri": f"{app_url.replace('//localhost', '//127.0.0.1')}"
                "/accounts/oidc/backchannel-logout/",
                "backchannel_logout_session_required": True,
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_post",
            }
        ],
        "accounts": {
            login: {"password": PASSWORD, "claims": {"preferred_username": login, **claims}}
            for login, claims in (accounts or ACCOUNTS).items()
        },
    }
    config_path = tmp_dir / "oidc-provider.json"
    config_path.write_text(json.dumps(config, ensure_ascii=False))
    log_path = tmp_dir / "oidc-provider.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [node, str(SCRIPT), str(config_path)], cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT
    )
    provider = Provider(issuer, process, log_path, config_path)
    deadline = time.monotonic() + 30
    while "listening" not in log_path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(provider)
            pytest.fail(f"the OpenID Connect provider did not start:\n{provider.log()}")
        time.sleep(0.1)
    return provider


def stop(provider: Provider) -> None:
    provider.process.terminate()
    try:
        provider.process.wait(10)
    except subprocess.TimeoutExpired:
        provider.process.kill()
        provider.process.wait(10)


def switch_on(settings, issuer: str) -> None:
    settings.OIDC_ENABLED = True
    settings.OIDC_OP_ISSUER = issuer
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{issuer}/auth"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{issuer}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{issuer}/me"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{issuer}/jwks"
    settings.OIDC_OP_LOGOUT_ENDPOINT = f"{issuer}/session/end"
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_RP_SCOPES = "openid profile org"
    settings.SSO_HELP_CONTACT = "市工信局数字经济处（电话 0531-12345678）"


def map_bodies_and_roles() -> None:
    from accounts.models import BodyMapping, RoleMapping, User

    BodyMapping.objects.create(claim="org_code", value="")
    RoleMapping.objects.create(claim="groups", value="tracker-lead", role=User.Role.LEAD, sort_order=1)
    RoleMapping.objects.create(claim="groups", value="tracker-auditor", role=User.Role.AUDITOR, sort_order=2)
    RoleMapping.objects.create(claim="groups", value="tracker-staff", role=User.Role.STAFF, sort_order=3)


@pytest.fixture(scope="module")
def oidc_provider(live_server, tmp_path_factory):
    provider = start(live_server.url, tmp_path_factory.mktemp("oidc"))
    try:
        yield provider
    finally:
        stop(provider)


@pytest.fixture
def oidc_on(oidc_provider, settings, departments):
    switch_on(settings, oidc_provider.issuer)
    map_bodies_and_roles()
    return oidc_provider
