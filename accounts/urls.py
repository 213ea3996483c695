from django.urls import path

from . import sso_views, views

urlpatterns = [
    path("security/", views.account_security, name="account-security"),
    path("tokens/new/", views.api_token_new, name="api-token-new"),
    path("tokens/<int:pk>/revoke/", views.api_token_revoke_view, name="api-token-revoke"),
    path("logout-all/", views.logout_all, name="logout-all"),
    path("password/", views.PasswordChange.as_view(), name="password-change"),
    # The unified identity service (统一身份认证): OpenID Connect and CAS, each switched on by settings.
    path("sso/refused/", sso_views.refused, name="sso-refused"),
    path("oidc/login/", sso_views.OidcStart.as_view(), name="oidc-login"),
    path("oidc/callback/", sso_views.OidcCallback.as_view(), name="oidc_authentication_callback"),
    path("oidc/backchannel-logout/", sso_views.oidc_backchannel_logout, name="oidc-backchannel-logout"),
    path("cas/login/", sso_views.CasLogin.as_view(), name="cas-login"),
]
