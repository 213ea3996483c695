from django.urls import path
from rest_framework.routers import DefaultRouter

from .views import AcknowledgementViewSet, NotificationViewSet, PreferenceView, WorkingDaysView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("notifications/acknowledgements", AcknowledgementViewSet, basename="acknowledgement")
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = [
    path("calendar/working-days/", WorkingDaysView.as_view(), name="working-days"),
    path("notifications/preferences/", PreferenceView.as_view(), name="notification-preferences"),
    *router.urls,
]
