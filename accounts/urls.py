from django.urls import path

from . import views

urlpatterns = [
    path("security/", views.account_security, name="account-security"),
    path("tokens/new/", views.api_token_new, name="api-token-new"),
    path("tokens/<int:pk>/revoke/", views.api_token_revoke_view, name="api-token-revoke"),
    path("logout-all/", views.logout_all, name="logout-all"),
    path("password/", views.PasswordChange.as_view(), name="password-change"),
]
