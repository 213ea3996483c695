from django.urls import path

from . import views

app_name = "accounts-api"

urlpatterns = [
    path("tokens/", views.TokenListView.as_view(), name="token-list"),
    path("tokens/new/", views.TokenCreateView.as_view(), name="token-create"),
    path("tokens/<int:pk>/", views.TokenRevokeView.as_view(), name="token-revoke"),
]
