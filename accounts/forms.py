from django import forms

from core.forms import InputForm


class ApiTokenForm(InputForm):
    name = forms.CharField(
        label="新令牌名称（用途）",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "例如：季度报表导出脚本"}),
    )
