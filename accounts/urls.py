from django.urls import path

from . import views

urlpatterns = [
    path("logout-all/", views.logout_all, name="logout-all"),
]
