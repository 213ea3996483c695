from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("obligations", views.ObligationViewSet, basename="api-obligation")
router.register("progress", views.ProgressFeedViewSet, basename="api-progress")
router.register("history", views.AuditFeedViewSet, basename="api-history")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("", include(router.urls)),
]
