from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("section/<slug:name>/", views.section, name="section"),
    path("queue/", views.queue_page, name="queue"),
    path("queue/<int:pk>/", views.queue_action, name="queue-action"),
    path("objections/", views.objections_page, name="objections"),
    path("extensions/", views.extensions_page, name="extensions"),
]
