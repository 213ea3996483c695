import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
application = get_wsgi_application()

# Build the table of documented query parameters (the OpenAPI schema, ~0.4 s) while the process
# starts, not during the first API request it serves (core.middleware).
from core.middleware import documented_query_parameters  # noqa: E402

documented_query_parameters("GET", "/api/")
