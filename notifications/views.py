from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.errors import NotAllowed

from . import ledger, selectors, services
from .forms import NoticeFilterForm, PreferenceForm


@login_required
def notification_list(request):
    """我的消息: decisions (and what asks for 已知悉) first, one compact line each; then the
    reminders, one entry per day's sweep with its items; the full text one tap away."""
    form = NoticeFilterForm(request.GET or None)
    mine = form.filter(selectors.notifications_for(request.user))
    decisions = Paginator(selectors.with_citations(mine.decisions()), 20).get_page(request.GET.get("page"))
    sweeps = selectors.reminder_sweeps(mine, page=request.GET.get("rpage"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("rpage", None)
    return render(
        request,
        "notifications/list.html",
        {
            "form": form,
            "filtered": form.filtered,
            "page": decisions,
            "sweeps": sweeps,
            "query": query.urlencode(),
            "attention": selectors.attention_count(request.user),
        },
    )


@login_required
@require_POST
def notification_read(request, pk: int):
    notification = get_object_or_404(selectors.notifications_for(request.user), pk=pk)
    services.notification_mark_read(notification=notification)
    return HttpResponseRedirect(_same_site_path(request, request.POST.get("next", "")))


def _same_site_path(request, target: str) -> str:
    """`target` when it is a path on this site; otherwise the message list. Anything else
    (another host, javascript:, a view name) would be an open redirect or an error."""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("notifications:list")


@login_required
@require_POST
def notification_read_all(request):
    services.notifications_mark_all_read(user=request.user)
    messages.success(request, "已全部标记为已读")
    return redirect("notifications:list")


@login_required
@require_POST
def notification_acknowledge(request, pk: int):
    notification = get_object_or_404(selectors.notifications_for(request.user), pk=pk)
    try:
        services.notification_acknowledge(notification=notification)
    except services.NotificationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "已确认知悉")
    return redirect("notifications:list")


@login_required
def acknowledgement_list(request):
    if not selectors.can_see_acknowledgements(request.user):
        # A page every user knows of (not an object they may not know exists): say why, in Chinese.
        raise PermissionDenied("升级确认情况仅供牵头部门、审计人员和系统管理员查看。")
    page = Paginator(selectors.acknowledgements(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "notifications/acknowledgements.html", {"page": page})


@login_required
def preferences(request):
    pref = services.preference_for(request.user)
    if request.method == "POST":
        form = PreferenceForm(request.POST, user=request.user)
        if form.is_valid():
            services.preference_update(user=request.user, **form.cleaned_data)
            messages.success(request, "通知方式已保存")
            return redirect("notifications:preferences")
    else:
        form = PreferenceForm(
            user=request.user,
            initial={
                "email": pref.email,
                "in_app": pref.in_app,
                "webhook": pref.webhook,
                "webhook_endpoint": pref.webhook_endpoint_id,
            },
        )
    return render(request, "notifications/preferences.html", {"form": form})


@login_required
@require_POST
def ledger_issue(request):
    try:
        bodies = ledger.ledger_issue(actor=request.user)
    except NotAllowed as exc:
        raise Http404(exc.message) from exc
    messages.success(request, f"已向 {bodies} 个单位下发台账")
    return redirect("tasks")
