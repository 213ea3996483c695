from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from .services import user_logout_everywhere


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
