"""Production settings: `check --deploy`, static files with the manifest storage, the CSP."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def production_env(**extra) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        # DJANGO_ALLOW_ASYNC_UNSAFE is set for the browser tests; production never has it.
        if not key.startswith(("SECURE_", "SESSION_", "CSRF_", "DJANGO_SETTINGS", "DJANGO_ALLOW_ASYNC_UNSAFE"))
    }
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="tracker.example.gov.cn,testserver",
        AUDIT_CHECKPOINT_KEY=secrets.token_urlsafe(32),
        DJANGO_SETTINGS_MODULE="tracker.settings",
    )
    env.update(extra)
    return env


def run_manage(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_check_deploy_reports_no_issues_in_production():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output


def test_check_deploy_passes_behind_a_tls_terminating_proxy():
    env = production_env(SECURE_SSL_REDIRECT="0", SECURE_PROXY_SSL_HEADER="1", TRUSTED_PROXY_COUNT="1")
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_flags_a_debug_deployment():
    # The check must be able to fail: DEBUG=1 with production hosts is a finding.
    env = production_env(DEBUG="1")
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr


def test_production_refuses_to_start_without_secret_key():
    env = production_env()
    del env["SECRET_KEY"]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


PRODUCTION_PAGES = r"""
import json, django
django.setup()
from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.test import Client

client = Client()
login = client.get("/accounts/login/", secure=True)
plain = client.get("/accounts/login/")
css_url = staticfiles_storage.url("css/app.css")
css = client.get(css_url, secure=True)
print(json.dumps({
    "login": login.status_code,
    "login_headers": dict(login.headers),
    "csrf_cookie": {k: login.cookies["csrftoken"][k] for k in ("secure", "httponly", "samesite")},
    "plain": plain.status_code,
    "plain_location": plain.headers.get("Location", ""),
    "css_url": css_url,
    "css": css.status_code,
    "css_body": b"".join(css.streaming_content).decode()[:200] if css.status_code == 200 else "",
    "storage": settings.STORAGES["staticfiles"]["BACKEND"],
    "css_cors": css.headers.get("Access-Control-Allow-Origin"),
    "schema_anonymous": client.get("/api/schema/", secure=True).status_code,
    "docs_anonymous": client.get("/api/docs/", secure=True).status_code,
    "not_found": client.get("/no-such-page/", secure=True).content.decode(),
}))
"""


@pytest.mark.django_db
def test_collectstatic_and_production_pages_with_manifest_storage(tmp_path):
    import json

    env = production_env(STATIC_ROOT=str(tmp_path / "static"))
    result = run_manage("collectstatic", "--noinput", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
    for name in ["css/app.css", "css/swagger.css", "vendor/htmx/htmx.min.js", "vendor/echarts/echarts.min.js"]:
        assert name in manifest, name
        assert (tmp_path / "static" / manifest[name]).is_file()
    assert (tmp_path / "static" / (manifest["css/app.css"] + ".gz")).is_file()

    pages = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PAGES], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert pages.returncode == 0, pages.stderr
    seen = json.loads(pages.stdout.strip().splitlines()[-1])
    assert seen["storage"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert seen["login"] == 200
    headers = {k.lower(): v for k, v in seen["login_headers"].items()}
    assert "max-age=31536000" in headers["strict-transport-security"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in headers["content-security-policy"]
    assert seen["csrf_cookie"]["secure"] is True and seen["csrf_cookie"]["samesite"] == "Lax"
    assert seen["plain"] == 301 and seen["plain_location"].startswith("https://")
    assert seen["css_url"] != "/static/css/app.css"  # hashed name from the manifest
    assert seen["css"] == 200 and seen["css_body"]
    assert seen["css_cors"] is None  # no Access-Control-Allow-Origin: * on our static files
    # The schema and the docs need a login in production (API_DOCS_PUBLIC=1 opens them).
    assert (seen["schema_anonymous"], seen["docs_anonymous"]) == (401, 302)
    assert "页面不存在" in seen["not_found"] and 'class="topbar"' in seen["not_found"]


def test_login_page_carries_the_content_security_policy(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.django_db
def test_api_docs_page_has_no_inline_script(client, django_user_model):
    user = django_user_model.objects.create_user(username="docs-reader", password="x-Secret-12345")
    client.force_login(user)
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), html
    assert "<style" not in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> block"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "on* handler attribute"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
    (re.compile(r"\shx-on", re.I), "hx-on attribute (needs eval)"),
]


def web_templates():
    """Templates rendered as web pages. Email bodies are excluded: mail clients need inline styles
    and no CSP applies to them."""
    templates = sorted((ROOT / "templates").rglob("*.html")) + sorted(ROOT.glob("*/templates/**/*.html"))
    return [t for t in templates if "emails" not in t.relative_to(ROOT).parts and ".venv" not in t.parts]


def test_project_templates_satisfy_the_content_security_policy():
    """Our own templates must not need 'unsafe-inline': the CSP would block what they do."""
    problems = []
    for template in web_templates():
        text = template.read_text(encoding="utf-8")
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{template.relative_to(ROOT)}:{line}: {what}")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_admin_pages_need_no_inline_script_or_style(client, django_user_model):
    admin = django_user_model.objects.create_superuser(username="root-admin", password="x-Secret-12345")
    client.force_login(admin)
    for url in [
        "/admin/",
        "/admin/accounts/user/",
        f"/admin/accounts/user/{admin.pk}/change/",
        "/admin/accounts/apitoken/",
    ]:
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        for pattern, what in INLINE:
            if what == "inline <script>":
                found = [m for m in pattern.findall(html) if "application/json" not in m]
            else:
                found = pattern.findall(html)
            assert not found, f"{url}: {what}: {found[:3]}"


def test_password_validators_refuse_weak_passwords_in_chinese():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.utils import translation

    for weak in ["12345678901", "password123", "short-1"]:
        with translation.override("zh-hans"):
            with pytest.raises(ValidationError) as caught:
                validate_password(weak)
            assert any("密码" in message for message in caught.value.messages), caught.value.messages
    validate_password("济南数字经济-督办-2026")
