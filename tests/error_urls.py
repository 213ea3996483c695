"""The project's URLs plus one that fails, for the 500 page (tests/test_error_pages.py)."""

from django.urls import path

from tracker.urls import urlpatterns as project_urlpatterns


def fail(request):
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", fail), *project_urlpatterns]
