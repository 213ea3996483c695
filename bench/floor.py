"""The framework floor: what a request costs before the app does anything.

Each view answers one trivial query (an obligation's status by primary key), so the difference
between two of them is the cost of one layer:

- `floor`: a DRF view with the project's authentication, permission and renderer classes, called
  with the session cookie (as the browser does): the floor every API scenario is compared with;
- `floor_token`: the same view called with a hashed API token (as scripts do);
- `floor_anonymous`: the same DRF view with no authentication and no permission;
- `floor_django`: a plain Django view that reads request.user (session and user look-ups, no DRF);
- `floor_plain`: a plain Django view that does not touch the user (the middleware alone).

Mounted only by the benchmark (ROOT_URLCONF overridden while the floor scenarios run), never in
the app's own URLs.
"""

from django.http import JsonResponse
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from obligations.models import Obligation


def _status(pk: int) -> dict:
    return {"id": pk, "status": Obligation.objects.filter(pk=pk).values_list("status", flat=True).first()}


class Floor(APIView):
    schema = None

    def get(self, request, pk: int):
        return Response(_status(pk))


class AnonymousFloor(Floor):
    authentication_classes: list = []
    permission_classes = [AllowAny]


def django_floor(request, pk: int):
    if not request.user.is_authenticated:
        return JsonResponse({}, status=401)
    return JsonResponse(_status(pk))


def plain_floor(request, pk: int):
    return JsonResponse(_status(pk))


urlpatterns = [
    path("bench-floor/drf/<int:pk>/", Floor.as_view()),
    path("bench-floor/anonymous/<int:pk>/", AnonymousFloor.as_view()),
    path("bench-floor/django/<int:pk>/", django_floor),
    path("bench-floor/plain/<int:pk>/", plain_floor),
    path("", include("tracker.urls")),
]

FLOOR_SQL = "SELECT id, status FROM obligations_obligation WHERE id = %s"
