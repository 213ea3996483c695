from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect


@login_required
def home(request):
    # The lead, auditors and admins start on the dashboard; staff on their task list.
    if request.user.sees_everything:
        return redirect("dashboard:dashboard")
    return redirect("tasks")


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
