"""Sign-in through the unified identity service: the mapping, provisioning and its audit, the
refusal, CAS against the protocol's documented answers, and OpenID Connect against a real
provider (node's oidc-provider, tests/oidc_provider.py)."""

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.test import Client

from accounts import sso
from accounts.models import ApiToken, BodyMapping, ExternalIdentity, RoleMapping, User
from accounts.services import api_token_create, user_session_keys
from obligations.audit import AuditAction, verify_chain
from obligations.models import AuditEntry, Obligation
from tests.oidc_provider import PASSWORD, map_bodies_and_roles

STAFF_CLAIMS = {"preferred_username": "zhang.wei", "name": "张伟", "org_code": "JN-DSJ", "groups": ["tracker-staff"]}


@pytest.fixture
def mapping(departments):
    map_bodies_and_roles()
    return departments


# ------------------------------------------------------------------------------------------
# The mapping and provisioning


def test_first_sign_in_creates_the_person_with_body_and_role_and_audits_it(mapping):
    user = sso.sign_in(provider="oidc", subject="sub-1", claims=STAFF_CLAIMS)
    assert (user.username, user.full_name, user.department.code, user.role) == ("zhang.wei", "张伟", "JN-DSJ", "staff")
    assert not user.has_usable_password()  # no local password: the identity service only
    entry = AuditEntry.objects.get(action=AuditAction.ACCOUNT_PROVISIONED)
    assert entry.after == {"user": "zhang.wei", "department": "JN-DSJ", "role": "staff", "active": True, "via": "oidc"}
    assert ExternalIdentity.objects.get(user=user).claims == {"groups": ["tracker-staff"], "org_code": "JN-DSJ"}
    assert verify_chain().ok


def test_each_sign_in_brings_body_and_role_up_to_date_and_audits_only_changes(mapping, regulation):
    user = sso.sign_in(provider="oidc", subject="sub-1", claims=STAFF_CLAIMS)
    dsj = Obligation.objects.filter(department__code="JN-DSJ").first()
    assert dsj is not None and user.may_see_body(dsj.department)
    sso.sign_in(provider="oidc", subject="sub-1", claims=STAFF_CLAIMS)
    assert not AuditEntry.objects.filter(action=AuditAction.ACCOUNT_UPDATED).exists()

    moved = sso.sign_in(provider="oidc", subject="sub-1", claims={**STAFF_CLAIMS, "org_code": "JN-FGW"})
    assert moved.pk == user.pk and moved.department.code == "JN-FGW"
    entry = AuditEntry.objects.get(action=AuditAction.ACCOUNT_UPDATED)
    assert (entry.before["department"], entry.after["department"]) == ("JN-DSJ", "JN-FGW")
    # The old body's work is out of sight at once (permissions follow User.department).
    moved = User.objects.get(pk=user.pk)
    assert not moved.may_see_body(dsj.department)
    assert not Obligation.objects.visible_to(moved).filter(department__code="JN-DSJ").exists()

    lead = sso.sign_in(provider="oidc", subject="sub-1", claims={**STAFF_CLAIMS, "groups": ["x", "tracker-lead"]})
    assert lead.role == User.Role.LEAD
    assert AuditEntry.objects.filter(action=AuditAction.ACCOUNT_UPDATED).count() == 2


def test_a_person_mapping_to_no_body_is_refused_and_nothing_is_created(mapping):
    before = (User.objects.count(), AuditEntry.objects.count(), ExternalIdentity.objects.count())
    with pytest.raises(sso.Refused) as refused:
        sso.sign_in(provider="oidc", subject="sub-9", claims={**STAFF_CLAIMS, "org_code": "SD-XYZ-999"})
    assert refused.value.seen == {"org_code": "SD-XYZ-999", "groups": ["tracker-staff"]}
    assert (User.objects.count(), AuditEntry.objects.count(), ExternalIdentity.objects.count()) == before


def test_an_explicit_value_row_maps_a_foreign_code_and_order_decides(departments):
    BodyMapping.objects.create(claim="ou", value="济南市大数据局", department=departments["JN-DSJ"], sort_order=1)
    BodyMapping.objects.create(claim="org_code", value="", sort_order=2)
    RoleMapping.objects.create(claim="memberOf", value="审计", role=User.Role.AUDITOR)
    user = sso.sign_in(
        provider="cas", subject="u1", claims={"ou": "济南市大数据局", "org_code": "JN-FGW", "memberOf": "审计"}
    )
    assert (user.department.code, user.role) == ("JN-DSJ", "auditor")


def test_an_inactive_body_maps_no_one(mapping, departments):
    departments["JN-DSJ"].active = False
    departments["JN-DSJ"].save()
    with pytest.raises(sso.Refused):
        sso.sign_in(provider="oidc", subject="sub-1", claims=STAFF_CLAIMS)


def test_a_local_account_of_the_same_name_is_never_taken_over(mapping, cast):
    user = sso.sign_in(provider="oidc", subject="sub-a", claims={**STAFF_CLAIMS, "preferred_username": "adam"})
    assert user.pk != cast["adam"].pk and user.username == "sub-a"
    assert User.objects.get(pk=cast["adam"].pk).role == User.Role.ADMIN


def test_deprovisioning_ends_sessions_and_api_tokens_and_is_audited(mapping):
    user = sso.sign_in(provider="oidc", subject="sub-1", claims=STAFF_CLAIMS)
    _, key = api_token_create(user=user, name="脚本")
    client = Client()
    client.force_login(user)
    assert client.get("/api/obligations/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    with pytest.raises(sso.Refused):
        sso.sign_in(provider="oidc", subject="sub-1", claims={**STAFF_CLAIMS, "org_code": ""})
    user.refresh_from_db()
    assert not user.is_active
    assert not ApiToken.objects.filter(user=user).exists() and user_session_keys(user=user) == []
    assert Client().get("/api/obligations/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    assert AuditEntry.objects.filter(action=AuditAction.ACCOUNT_DEPROVISIONED).get().after["active"] is False


def test_an_sso_persons_api_token_works_as_today_and_ends_when_the_admin_disables_them(mapping):
    user = sso.sign_in(provider="oidc", subject="sub-1", claims=STAFF_CLAIMS)
    browser = Client()
    browser.force_login(user)
    created = browser.post("/accounts/tokens/new/", {"name": "季度报表脚本"}).content.decode()
    key = re.findall(r"jt_[A-Za-z0-9_-]{40,}", created)[0]  # created on the token page, as for anyone
    assert Client().get("/api/obligations/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    user.is_active = False
    user.save()
    assert Client().get("/api/obligations/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_the_login_page_offers_the_identity_service_only_when_switched_on(client, settings, departments):
    assert "使用统一身份认证登录" not in client.get("/accounts/login/").content.decode()
    assert client.get("/accounts/oidc/login/").status_code == 404
    assert client.get("/accounts/cas/login/").status_code == 404
    settings.CAS_ENABLED, settings.CAS_SERVER_URL = True, "http://127.0.0.1:9/cas/"
    page = client.get("/accounts/login/").content.decode()
    assert "使用统一身份认证登录" in page and 'href="/accounts/cas/login/"' in page
    assert 'name="password"' in page  # the local form stays for the admin and break-glass accounts


# ------------------------------------------------------------------------------------------
# CAS 2.0 / 3.0 against the protocol's documented answers (CAS Protocol 3.0, section 2.5 / 2.6)

SUCCESS = """<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
  <cas:authenticationSuccess>
    <cas:user>{user}</cas:user>
    <cas:attributes>
      <cas:cn>{name}</cas:cn>
      <cas:org_code>{org}</cas:org_code>
      <cas:groups>tracker-auditor</cas:groups>
      <cas:groups>another-group</cas:groups>
    </cas:attributes>
  </cas:authenticationSuccess>
</cas:serviceResponse>"""
FAILURE = """<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
  <cas:authenticationFailure code="INVALID_TICKET">Ticket {ticket} not recognized</cas:authenticationFailure>
</cas:serviceResponse>"""


@pytest.fixture
def cas_server(settings, mapping):
    """A tiny CAS server: /login sends the browser back with a ticket, /p3/serviceValidate and
    /serviceValidate answer as the protocol documents. TICKETS: ticket → (user, name, org)."""
    tickets = {}
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            seen.append((url.path, query))
            if url.path.endswith("serviceValidate"):
                known = tickets.pop(query.get("ticket"), None)
                body = SUCCESS.format(user=known[0], name=known[1], org=known[2]) if known else FAILURE.format(**query)
                self.send_response(200)
                self.send_header("Content-Type", "application/xml; charset=utf-8")
                self.end_headers()
                self.wfile.write(body.encode())
            else:
                self.send_response(404)
                self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.CAS_ENABLED = True
    settings.CAS_SERVER_URL = f"http://127.0.0.1:{server.server_address[1]}/cas/"
    settings.CAS_VERSION = "3"
    try:
        yield tickets, seen, settings.CAS_SERVER_URL
    finally:
        server.shutdown()
        server.server_close()


def test_cas_sign_in_provisions_through_the_mapping_and_single_logout_ends_the_session(cas_server, client):
    tickets, seen, server_url = cas_server
    start = client.get("/accounts/cas/login/")
    assert start.status_code == 302 and start["Location"].startswith(f"{server_url}login?service=")
    tickets["ST-1-abc"] = ("wangfang", "王芳", "JN-SJJ")
    back = client.get("/accounts/cas/login/", {"ticket": "ST-1-abc"})
    assert back.status_code == 302, back.content
    assert seen[-1][0] == "/cas/p3/serviceValidate" and seen[-1][1]["ticket"] == "ST-1-abc"
    user = User.objects.get(external_identities__provider="cas", external_identities__subject="wangfang")
    assert (user.full_name, user.department.code, user.role) == ("王芳", "JN-SJJ", "auditor")
    assert client.get("/accounts/security/").status_code == 200

    slo = """<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"
      xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="LR-1" Version="2.0" IssueInstant="2026-12-07T10:00:00Z">
      <saml:NameID>@NOT_USED@</saml:NameID><samlp:SessionIndex>ST-1-abc</samlp:SessionIndex></samlp:LogoutRequest>"""
    assert Client().post("/accounts/cas/login/", {"logoutRequest": slo}).status_code == 200
    assert client.get("/accounts/security/").status_code == 302  # back to the login page


def test_cas_version_2_reads_the_same_documented_answer(cas_server, client, settings):
    tickets, seen, _ = cas_server
    settings.CAS_VERSION = "2"
    tickets["ST-2"] = ("wangfang", "王芳", "JN-SJJ")
    assert client.get("/accounts/cas/login/", {"ticket": "ST-2"}).status_code == 302
    assert seen[-1][0] == "/cas/serviceValidate"
    assert User.objects.filter(external_identities__subject="wangfang", role="auditor").exists()


def test_cas_refusal_page_says_whom_to_ask_and_creates_nothing(cas_server, client, settings):
    tickets, _, _ = cas_server
    settings.SSO_HELP_CONTACT = "市工信局数字经济处"
    tickets["ST-3"] = ("zhaolei", "赵磊", "SD-XYZ-999")
    users = User.objects.count()
    back = client.get("/accounts/cas/login/", {"ticket": "ST-3"}, follow=True)
    assert back.status_code == 403
    page = back.content.decode()
    assert "暂不能登录本系统" in page and "市工信局数字经济处" in page and "SD-XYZ-999" in page
    assert User.objects.count() == users
    assert not AccessAttempt.objects.exists()  # no password was guessed: no lockout count


def test_cas_signs_out_here_and_at_the_cas_server(cas_server, client):
    tickets, _, server_url = cas_server
    tickets["ST-4"] = ("wangfang", "王芳", "JN-SJJ")
    client.get("/accounts/cas/login/", {"ticket": "ST-4"})
    out = client.post("/accounts/logout/")
    onward = re.search(r'id="sso-logout-link" href="([^"]+)"', out.content.decode()).group(1)
    assert out.status_code == 200 and onward.startswith(f"{server_url}logout?service=")
    assert "accounts%2Flogin" in onward
    assert client.get("/accounts/security/").status_code == 302


def test_an_unknown_cas_ticket_is_a_failed_sign_in_not_a_refusal(cas_server, client):
    back = client.get("/accounts/cas/login/", {"ticket": "ST-forged"}, follow=True)
    assert back.redirect_chain[-1][0] == "/accounts/login/"
    assert "统一身份认证登录未成功" in back.content.decode()


# ------------------------------------------------------------------------------------------
# OpenID Connect against a real provider (the browser journey is tests/e2e/test_journey_sso.py)


def sign_in(app_url: str, login: str) -> tuple[requests.Session, requests.Response, requests.Response]:
    browser = requests.Session()
    form = browser.get(f"{app_url}/accounts/oidc/login/", timeout=30)
    assert "/interaction/" in form.url, form.text
    done = browser.post(form.url, data={"login": login, "password": PASSWORD}, timeout=30)
    return browser, form, done


def test_oidc_code_flow_with_pkce_provisions_the_person(oidc_on, live_server):
    _, form, done = sign_in(live_server.url, "zhang.wei")
    assert done.url == f"{live_server.url}/tasks/", done.text[:500]
    user = User.objects.get(external_identities__provider="oidc", external_identities__subject="zhang.wei")
    assert (user.full_name, user.department.code, user.role) == ("张伟", "JN-DSJ", "staff")
    authorize = next(r.headers["Location"] for r in form.history if "/auth?" in r.headers.get("Location", ""))
    assert "code_challenge=" in authorize and "code_challenge_method=S256" in authorize  # PKCE


def test_oidc_back_channel_logout_ends_the_session_here(oidc_on, live_server):
    browser, _, _ = sign_in(live_server.url, "li.na")
    user = User.objects.get(username="li.na")
    assert user.role == User.Role.LEAD and len(user_session_keys(user=user)) == 1
    # The person signs out at the identity service (another application's sign-out button).
    confirm = browser.get(f"{oidc_on.issuer}/session/end", timeout=30)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', confirm.text))
    action = re.search(r'action="([^"]+)"', confirm.text).group(1)
    out = browser.post(
        f"{oidc_on.issuer}{action}" if action.startswith("/") else action, data={**fields, "logout": "yes"}
    )
    assert out.url == f"{oidc_on.issuer}/session/end/success"
    assert user_session_keys(user=user) == [], oidc_on.log()
    assert browser.get(f"{live_server.url}/accounts/security/", timeout=30).url.startswith(
        f"{live_server.url}/accounts/login/"
    )


def test_a_forged_back_channel_logout_token_is_refused(oidc_on, live_server, client):
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    sign_in(live_server.url, "zhang.wei")
    assert Session.objects.count() == 1
    kid = requests.get(f"{oidc_on.issuer}/jwks", timeout=30).json()["keys"][0]["kid"]
    claims = {
        "iss": oidc_on.issuer,
        "aud": "tracker",
        "iat": 1_900_000_000,
        "jti": "x",
        "sub": "zhang.wei",
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    }
    own_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, own_key, algorithm="RS256", headers={"kid": kid})
    for token in ("x.y.z", forged, ""):
        answer = client.post("/accounts/oidc/backchannel-logout/", {"logout_token": token})
        assert answer.status_code == 400 and answer.json() == {"error": "invalid_request"}
    assert Session.objects.count() == 1


def test_oidc_discover_prints_the_settings_of_a_real_provider(oidc_provider):
    from io import StringIO

    from django.core.management import call_command

    out, err = StringIO(), StringIO()
    call_command("oidc_discover", oidc_provider.issuer, stdout=out, stderr=err)
    lines = dict(line.split("=", 1) for line in out.getvalue().splitlines())
    assert lines["OIDC_OP_ISSUER"] == oidc_provider.issuer
    assert lines["OIDC_OP_JWKS_ENDPOINT"] == f"{oidc_provider.issuer}/jwks"
    assert lines["OIDC_OP_LOGOUT_ENDPOINT"] == f"{oidc_provider.issuer}/session/end"
    assert err.getvalue() == ""  # PKCE, RS256, end-session and back-channel logout all there


def test_hostile_names_from_the_identity_service_are_not_taken(mapping):
    claims = {**STAFF_CLAIMS, "preferred_username": "evil\u202eadmin", "name": "张\u0000伟", "email": "x" * 300}
    user = sso.sign_in(provider="oidc", subject="sub-h", claims=claims)
    assert (user.username, user.full_name, user.email) == ("sub-h", "", "")


def test_a_subject_that_is_no_username_gets_a_derived_one(mapping):
    user = sso.sign_in(provider="cas", subject="张 伟/1", claims={**STAFF_CLAIMS, "preferred_username": ""})
    assert re.fullmatch(r"cas-[0-9a-f]{20}", user.username)


def test_an_id_token_from_another_issuer_signs_no_one_in(oidc_on, live_server, settings):
    settings.OIDC_OP_ISSUER = "https://idp.example.gov.cn"  # the library alone would not check it
    _, _, done = sign_in(live_server.url, "zhang.wei")
    assert done.url == f"{live_server.url}/accounts/login/"
    assert "统一身份认证登录未成功" in done.text
    assert not User.objects.filter(username="zhang.wei").exists()
