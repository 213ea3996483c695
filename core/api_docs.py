"""Who may read the API's schema (/api/schema/) and its interactive docs (/api/docs/).

Open while developing (DEBUG=1); in production only to users who are logged in (a session or an
API token), unless API_DOCS_PUBLIC=1: the schema maps every endpoint and parameter, nothing an
anonymous visitor needs. Read at request time, so the setting can be changed without a code edit.
"""

from django.conf import settings
from rest_framework.permissions import BasePermission


def docs_open_to(user) -> bool:
    return settings.API_DOCS_PUBLIC or bool(user and user.is_authenticated)


class DocsPermission(BasePermission):
    """SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]."""

    def has_permission(self, request, view):
        return docs_open_to(request.user)
