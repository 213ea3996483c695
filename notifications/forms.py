from django import forms
from django.db.models import Q

from core.forms import InputForm
from regulations.models import Regulation, many_regulations

from . import selectors
from .models import Notification, WebhookEndpoint


class NoticeFilterForm(InputForm):
    """The filter of 我的消息: by kind, read or not, and (several regulations) by regulation."""

    kind = forms.ChoiceField(label="类型", required=False, choices=[("", "全部")] + Notification.Kind.choices)
    unread = forms.ChoiceField(label="阅读", required=False, choices=[("", "全部"), ("1", "仅未读")])
    regulation = forms.ModelChoiceField(
        label="法规", required=False, queryset=Regulation.objects.none(), to_field_name="code", empty_label="全部"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if many_regulations():
            self.fields["regulation"].queryset = Regulation.objects.order_by("id")
        elif not self.data.get("regulation"):
            del self.fields["regulation"]  # one regulation: nothing to choose
        else:
            self.fields["regulation"].queryset = Regulation.objects.all()

    def filter(self, queryset):
        """`queryset` narrowed by the valid choices (all of it when the form is not valid)."""
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data["kind"]:
            queryset = queryset.filter(kind=data["kind"])
        if data["unread"] == "1":
            queryset = queryset.filter(read_at__isnull=True)
        regulation = data.get("regulation")
        if regulation:
            # A grouped reminder names its obligations through its ledger rows.
            queryset = queryset.filter(
                Q(obligation__clause__regulation=regulation) | Q(reminders__obligation__clause__regulation=regulation)
            ).distinct()
        return queryset

    @property
    def filtered(self) -> bool:
        return self.is_valid() and any(v not in (None, "") for v in self.cleaned_data.values())


class PreferenceForm(forms.Form):
    email = forms.BooleanField(label="邮件", required=False)
    in_app = forms.BooleanField(label="站内消息", required=False)
    webhook = forms.BooleanField(label="Webhook（工作群机器人）", required=False)
    webhook_endpoint = forms.ModelChoiceField(
        label="Webhook 地址",
        queryset=WebhookEndpoint.objects.none(),
        required=False,
        empty_label="使用本单位默认地址",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["webhook_endpoint"].queryset = selectors.webhook_endpoints_for(user)
