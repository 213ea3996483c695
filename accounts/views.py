from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import password_validators_help_texts
from django.contrib.auth.views import LogoutView, PasswordChangeView
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_cas_ng.models import SessionTicket
from django_cas_ng.utils import get_cas_client

from . import oidc, sso
from .forms import ApiTokenForm
from .models import ApiToken
from .services import api_token_create, api_token_revoke, user_logout_everywhere, user_session_keys


def _security_page(request, form=None, status=200, **extra):
    context = {
        "tokens": ApiToken.objects.filter(user=request.user),
        "session_count": len(user_session_keys(user=request.user)),
        "token_form": form or ApiTokenForm(auto_id="id_token_%s"),
        **extra,
    }
    return render(request, "accounts/security.html", context, status=status)


@never_cache
@login_required
def account_security(request):
    """The user's own API tokens (never their keys) and the "log out everywhere" button."""
    return _security_page(request)


@never_cache
@require_POST
@login_required
def api_token_new(request):
    """Create a token and show its key on this one response; it is not stored and never shown again."""
    form = ApiTokenForm(request.POST, auto_id="id_token_%s")
    if not form.is_valid():
        return _security_page(request, form, status=400)
    token, key = api_token_create(user=request.user, name=form.cleaned_data["name"])
    return _security_page(request, new_token=token, new_key=key)


@require_POST
@login_required
def api_token_revoke_view(request, pk: int):
    token = get_object_or_404(ApiToken, user=request.user, pk=pk)
    api_token_revoke(user=request.user, token_id=token.pk)
    messages.success(request, f"已吊销令牌 {token.prefix}…。")
    return redirect("account-security")


@require_POST
@login_required
def logout_all(request):
    """End all of the user's sessions (every browser and device) and revoke all their API tokens."""
    result = user_logout_everywhere(user=request.user)
    logout(request)
    messages.success(
        request, f"已在所有设备上退出登录（结束 {result.sessions} 个会话，吊销 {result.tokens} 个 API 令牌）。"
    )
    return redirect("login")


class PasswordChange(PasswordChangeView):
    """Old password, the new one twice, the password validators. Saving the new password ends the
    user's other sessions and revokes their API tokens (accounts.receivers); this browser stays
    logged in (Django's view updates its session)."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("account-security")
    extra_context = {"rules": password_validators_help_texts}

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "密码已修改。其他设备上的登录已结束，全部 API 令牌已吊销。")
        return response


class Logout(LogoutView):
    """退出 (POST): ends the session and says so on the login page it leads to. A session signed in
    through the identity service is ended there too: the browser goes to the provider's end-session
    endpoint (OpenID Connect RP-initiated logout) or the CAS server's logout, which sends it back
    to the login page."""

    next_page = "login"

    def post(self, request, *args, **kwargs):
        was_logged_in = request.user.is_authenticated
        provider = request.session.get(sso.PROVIDER_SESSION_KEY)
        id_token = request.session.get("oidc_id_token")
        session_key = request.session.session_key
        response = super().post(request, *args, **kwargs)
        if was_logged_in:
            # The message outlives the flushed session: the message storage writes it with the response.
            messages.success(request, "您已安全退出。")
        if provider == "oidc" and settings.OIDC_ENABLED and settings.OIDC_OP_LOGOUT_ENDPOINT:
            return _onward(request, oidc.end_session_url(request, id_token))
        if provider == "cas" and settings.CAS_ENABLED:
            SessionTicket.objects.filter(session_key=session_key).delete()
            return _onward(request, get_cas_client(request=request).get_logout_url(oidc.post_logout_url(request)))
        return response


def _onward(request, url: str):
    """On to the identity service's sign-out, by a page rather than a redirect: the sign-out form's
    page allows form submissions to this site only (CSP form-action 'self'), and browsers apply
    that to where a submission is redirected too."""
    return render(request, "accounts/sso_logout.html", {"url": url})
