from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.errors import NotAllowed

from . import ledger, selectors, services
from .forms import PreferenceForm


@login_required
def notification_list(request):
    queryset = selectors.notifications_for(request.user).order_by("-created_at", "-id")
    only_unread = request.GET.get("unread") == "1"
    if only_unread:
        queryset = queryset.filter(read_at__isnull=True)
    page = Paginator(queryset, 20).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page, "only_unread": only_unread})


@login_required
@require_POST
def notification_read(request, pk: int):
    notification = get_object_or_404(selectors.notifications_for(request.user), pk=pk)
    services.notification_mark_read(notification=notification)
    return redirect(request.POST.get("next") or "notifications:list")


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
        raise Http404
    page = Paginator(selectors.acknowledgements(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "notifications/acknowledgements.html", {"page": page})


@login_required
def preferences(request):
    pref = services.preference_for(request.user)
    if request.method == "POST":
        form = PreferenceForm(request.POST)
        if form.is_valid():
            services.preference_update(user=request.user, **form.cleaned_data)
            messages.success(request, "通知方式已保存")
            return redirect("notifications:preferences")
    else:
        form = PreferenceForm(
            initial={
                "email": pref.email,
                "in_app": pref.in_app,
                "webhook": pref.webhook,
                "webhook_endpoint": pref.webhook_endpoint_id,
            }
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
