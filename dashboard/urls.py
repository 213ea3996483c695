from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("section/<slug:name>/", views.section, name="section"),
    path("queue/<int:pk>/", views.queue_action, name="queue-action"),
]
