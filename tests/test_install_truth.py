"""One install truth: what the running app imports comes from requirements.txt alone.

docs/deployment.md installs requirements.txt; the tests run with requirements-dev.txt on top.
A module the app imports but only the dev requirements provide (openpyxl was one: the 台账
import failed with ModuleNotFoundError in production) passes every other test. So:

- every top-level module the app's code imports (every app and tracker/, function-level imports
  and migrations included, plus the dotted paths settings.py names: INSTALLED_APPS, middleware,
  DRF classes …) is the standard library's, the project's own, or provided by a distribution
  named in requirements.txt;
- in production settings (DEBUG=0, the manifest static storage, a real secret), every
  management command loads and prints its --help, and every page answers each role without a
  5xx.
"""

import ast
import datetime as dt
import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_architecture import FLOORS
from tests.test_security_settings import production_env, run_manage

ROOT = Path(__file__).resolve().parent.parent
APP_DIRS = ["core", "accounts", "regulations", "obligations", "notifications", "reports", "dashboard", "tracker"]
DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+\Z")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def required_distributions(path: Path) -> set[str]:
    """The distributions a requirements file names itself (not through -r)."""
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        names.add(_normalize(re.split(r"[\[=<>!~;\s]", line, maxsplit=1)[0]))
    return names


def top_level_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def settings_module_paths() -> set[str]:
    """Top-level modules named by dotted strings in settings.py that exist (apps, middleware,
    renderers …): Django imports them by name."""
    tree = ast.parse((ROOT / "tracker" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and DOTTED.match(node.value):
            top = node.value.split(".")[0]
            if importlib.util.find_spec(top) is not None:
                names.add(top)
        elif isinstance(node, ast.List):  # INSTALLED_APPS of one word ("axes", "csp")
            for item in node.elts:
                if isinstance(item, ast.Constant) and isinstance(item.value, str) and item.value.isidentifier():
                    if importlib.util.find_spec(item.value) is not None:
                        names.add(item.value)
    return names


def app_imports() -> dict[str, set[str]]:
    """Top-level module -> the files that import it."""
    found: dict[str, set[str]] = {}
    for folder in APP_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            for name in top_level_imports(path):
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    for name in settings_module_paths():
        found.setdefault(name, set()).add("tracker/settings.py")
    return found


def not_from_requirements(modules, requirements: set[str]) -> dict[str, list[str]]:
    """Modules neither standard, nor ours, nor provided by a distribution in `requirements`:
    module -> the distributions that do provide it (empty: none installed)."""
    providers = importlib.metadata.packages_distributions()
    missing = {}
    for module in modules:
        if module in sys.stdlib_module_names or module in FLOORS:
            continue
        provided_by = [_normalize(d) for d in providers.get(module, [])]
        if not set(provided_by) & requirements:
            missing[module] = provided_by
    return missing


def test_every_module_the_app_imports_comes_from_requirements_txt():
    imports = app_imports()
    missing = not_from_requirements(imports, required_distributions(ROOT / "requirements.txt"))
    report = {module: {"provided_by": d, "imported_in": sorted(imports[module])} for module, d in missing.items()}
    assert not missing, f"add these to requirements.txt (pinned): {json.dumps(report, ensure_ascii=False, indent=1)}"


def test_the_walk_finds_what_settings_and_function_level_imports_name():
    imports = app_imports()
    # openpyxl is imported inside the ledger's functions; whitenoise and drf_orjson_renderer
    # only by name in settings.py.
    for module in ["openpyxl", "whitenoise", "drf_orjson_renderer", "django_celery_beat", "csp", "axes"]:
        assert module in imports, module


def test_a_dev_only_package_is_reported():
    # The check must be able to fail: pytest and schemathesis are in requirements-dev.txt only.
    runtime = required_distributions(ROOT / "requirements.txt")
    missing = not_from_requirements({"pytest", "schemathesis", "json", "core", "django"}, runtime)
    assert set(missing) == {"pytest", "schemathesis"}
    assert "openpyxl" in required_distributions(ROOT / "requirements.txt")
    assert "openpyxl" not in required_distributions(ROOT / "requirements-dev.txt")


# Run in a process of its own with production settings against the test database (committed
# rows: the test is transactional). Prints one JSON line: commands that failed, pages that
# answered 5xx, and how many of each were tried.
SMOKE = r"""
import io, json, sys, traceback, django
django.setup()
from django.contrib import admin
from django.core.management import get_commands, load_command_class
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from accounts.models import User

commands, failed_commands = 0, {}
for name, app in sorted(get_commands().items()):
    commands += 1
    try:
        load_command_class(app, name).create_parser("manage.py", name).format_help()
    except BaseException:
        failed_commands[name] = traceback.format_exc()

args = json.loads(sys.argv[1])


def pages(resolver, prefix=""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if str(pattern.pattern) == "admin/":
                continue
            yield from pages(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            if route.startswith("^") or "(?P" in route:
                continue
            yield "/" + route


def fill(route):
    import re
    for name in re.findall(r"<(?:\w+:)?(\w+)>", route):
        if name not in args:
            return None
        route = re.sub(r"<(?:\w+:)?" + name + ">", str(args[name]), route)
    return route


urls = sorted({url for route in pages(get_resolver()) if (url := fill(route))})
admin_urls = ["/admin/"]
for model in admin.site._registry:
    meta = model._meta
    admin_urls.append(f"/admin/{meta.app_label}/{meta.model_name}/")
    admin_urls.append(f"/admin/{meta.app_label}/{meta.model_name}/add/")

errors, tried = {}, 0
for username in json.loads(sys.argv[2]):
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(username=username))
    for url in urls + (admin_urls if username == "adam" else []):
        tried += 1
        response = client.get(url, secure=True)
        if response.status_code >= 500:
            errors[f"{username} {url}"] = response.status_code
print(json.dumps({"commands": commands, "failed_commands": failed_commands, "pages": tried, "errors": errors}))
"""


@pytest.mark.django_db(transaction=True)
def test_every_command_and_every_page_in_production_settings(cast, settings, tmp_path):
    from django.core.files.base import ContentFile
    from django.db import connection

    from obligations import services
    from reports.models import ExportJob
    from tests.factories import PDF, make_obligation

    settings.MEDIA_ROOT = tmp_path / "evidence"
    future = dt.date.today() + dt.timedelta(days=30)
    own = make_obligation("JN-DSJ", due_date=future)
    milestone = services.milestone_add(obligation=own, actor=cast["alice"], title="征求意见", due_date=future)
    evidence = services.evidence_add(
        obligation=own, actor=cast["alice"], kind="file", description="方案", file=ContentFile(PDF, name="方案.pdf")
    )
    job = ExportJob.objects.create(requested_by=cast["lena"], format=ExportJob.Format.CSV)
    args = {"pk": own.pk, "mid": milestone.pk, "eid": evidence.pk, "job_id": str(job.pk), "name": "bodies"}
    args |= {"id": own.pk}

    database = connection.settings_dict
    env = production_env(
        STATIC_ROOT=str(tmp_path / "static"),
        EVIDENCE_ROOT=str(tmp_path / "evidence"),
        REPORTS_ROOT=str(tmp_path / "exports"),
        DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
    )
    collected = run_manage("collectstatic", "--noinput", env=env)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    users = ["alice", "lena", "audrey", "adam"]
    result = subprocess.run(
        [sys.executable, "-c", SMOKE, json.dumps(args), json.dumps(users)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert not seen["failed_commands"], "\n".join(seen["failed_commands"].values())
    assert not seen["errors"], (seen["errors"], result.stderr[-5000:])
    # Our own commands and Django's are all there; every role saw every page.
    assert seen["commands"] >= 30
    assert seen["pages"] >= 4 * 40
