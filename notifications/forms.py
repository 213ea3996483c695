from django import forms

from . import selectors
from .models import WebhookEndpoint


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
