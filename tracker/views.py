import sys

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views import defaults
from django.views.decorators.cache import cache_control
from drf_spectacular.views import SpectacularSwaggerSplitView

from core.api_docs import docs_open_to
from core.exceptions import error_json, server_error_shape


@login_required
def home(request):
    # The lead, auditors and admins start on the dashboard; staff on their task list.
    if request.user.sees_everything:
        return redirect("dashboard:dashboard")
    return redirect("tasks")


@cache_control(max_age=86400, public=True)
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links: send them to our icon."""
    return redirect(static("img/favicon.svg"), permanent=False)


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


# The split view serves Swagger UI's init script as a file: no inline script, CSP holds.
_swagger_ui = SpectacularSwaggerSplitView.as_view(url_name="api-schema")


def api_docs(request):
    """Swagger UI. A person who may not read the schema is sent to the login page, not shown JSON."""
    if not docs_open_to(request.user):
        return redirect_to_login(request.get_full_path())
    return _swagger_ui(request)


def server_error(request):
    """handler500: the API answers in its own shape ({code, message}; 503 with the database away,
    507 with the evidence disk full), pages keep the 500 page."""
    if request.path.startswith("/api/"):
        code, message, status = server_error_shape(sys.exc_info()[1])
        return error_json(code, message, status=status)
    return defaults.server_error(request)
