from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("<int:pk>/read/", views.notification_read, name="read"),
    path("read-all/", views.notification_read_all, name="read-all"),
    path("<int:pk>/acknowledge/", views.notification_acknowledge, name="acknowledge"),
    path("acknowledgements/", views.acknowledgement_list, name="acknowledgements"),
    path("preferences/", views.preferences, name="preferences"),
    path("ledger/issue/", views.ledger_issue, name="ledger-issue"),
]
