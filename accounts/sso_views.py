"""Pages of the unified identity service sign-in: the login page's button, the OpenID Connect
and CAS round trips, the refusal page, and the identity service's back-channel logout."""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_cas_ng import views as cas_views
from mozilla_django_oidc import views as oidc_views

from . import sso
from .cas import single_logout
from .models import ExternalIdentity
from .oidc import verify_logout_token
from .services import end_sessions

log = logging.getLogger(__name__)

FAILED = "统一身份认证登录未成功，请重试；如仍不能登录，请联系系统管理员。"


class LoginPage(LoginView):
    """The local form (admin and break-glass accounts) and, when on, 使用统一身份认证登录."""

    template_name = "accounts/login.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sso_url"] = "oidc-login" if settings.OIDC_ENABLED else "cas-login" if settings.CAS_ENABLED else None
        return context


def _refused_or_failed(request):
    if sso.REFUSAL_SESSION_KEY in request.session:
        return redirect("sso-refused")
    messages.error(request, FAILED)
    return redirect("login")


class OidcStart(oidc_views.OIDCAuthenticationRequestView):
    def get(self, request):
        if not settings.OIDC_ENABLED:
            raise Http404
        return super().get(request)


class OidcCallback(oidc_views.OIDCAuthenticationCallbackView):
    def get(self, request):
        if not settings.OIDC_ENABLED:
            raise Http404
        try:
            return super().get(request)
        except SuspiciousOperation as exc:  # a stale or forged state: start again
            log.warning("OIDC callback refused: %s", exc)
            return _refused_or_failed(request)

    def login_failure(self):
        return _refused_or_failed(self.request)


class CasLogin(cas_views.LoginView):
    """GET: to the CAS server, or back from it with a ticket. POST: the CAS server's single logout."""

    def get(self, request):
        if not settings.CAS_ENABLED:
            raise Http404
        try:
            return super().get(request)
        except PermissionDenied:
            return _refused_or_failed(request)

    def post(self, request):
        if not settings.CAS_ENABLED:
            raise Http404
        logout_request = request.POST.get("logoutRequest", "")
        if not logout_request:
            return HttpResponse("missing logoutRequest", status=400, content_type="text/plain")
        single_logout(logout_request)
        return HttpResponse("ok", content_type="text/plain")


@never_cache
def refused(request):
    """Signed in at the identity service, but its claims give no body here: say whom to ask."""
    refusal = request.session.pop(sso.REFUSAL_SESSION_KEY, None) or {}
    seen = [
        (name, ("、".join(map(str, value)) if isinstance(value, list) else str(value)) or "（空）")
        for name, value in (refusal.get("seen") or {}).items()
    ]
    context = {"seen": seen, "contact": settings.SSO_HELP_CONTACT}
    return render(request, "accounts/sso_refused.html", context, status=403)


@csrf_exempt
@require_POST
def oidc_backchannel_logout(request):
    """OpenID Connect Back-Channel Logout 1.0: the provider says a session there ended; the
    sessions here that it names (by sid, else every session of the subject) end too."""
    if not settings.OIDC_ENABLED:
        raise Http404
    try:
        claims = verify_logout_token(request.POST.get("logout_token", ""))
    except (SuspiciousOperation, ValueError) as exc:
        log.warning("back-channel logout refused: %s", exc)
        return JsonResponse({"error": "invalid_request"}, status=400, headers={"Cache-Control": "no-store"})
    user_id = None
    if claims.get("sub"):
        identity = ExternalIdentity.objects.filter(provider="oidc", subject=str(claims["sub"])).first()
        if identity is None:
            return HttpResponse(status=200, headers={"Cache-Control": "no-store"})
        user_id = identity.user_id
    end_sessions(user_id=user_id, values={sso.OIDC_SID_SESSION_KEY: claims["sid"]} if claims.get("sid") else None)
    return HttpResponse(status=200, headers={"Cache-Control": "no-store"})
