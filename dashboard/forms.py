"""The dashboard's filters, read from GET parameters so that a filtered view can be shared."""

from django import forms
from django.utils.html import escape
from django.utils.safestring import mark_safe

from accounts.models import Department
from core.forms import InputForm
from regulations.models import Regulation

from .selectors import DashboardFilters


class PlainSelect(forms.Select):
    """A <select> of a model choice field written in one pass from (value, label) tuples: the body
    list has hundreds of options (704 at province scale), and Django's per-option templates over
    model instances took over 100 ms of the dashboard's first screen. `label_field` is the column
    that `__str__` shows."""

    def __init__(self, *args, label_field: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.label_field = label_field

    def options(self):
        field = self.choices.field
        rows = [("", field.empty_label)] if field.empty_label is not None else []
        return rows + list(field.queryset.values_list(field.to_field_name or "pk", self.label_field))

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        chosen = {str(v) for v in self.format_value(value)}
        head = "".join(f' {escape(k)}="{escape(v)}"' for k, v in attrs.items() if v is not None and v is not False)
        options = []
        for option_value, label in self.options():
            key = "" if option_value is None else str(option_value)
            selected = " selected" if key in chosen else ""
            options.append(f'<option value="{escape(key)}"{selected}>{escape(label)}</option>')
        return mark_safe(f'<select name="{escape(name)}"{head}>{"".join(options)}</select>')  # noqa: S308 (escaped)


class DashboardFilterForm(InputForm):
    regulation = forms.ModelChoiceField(
        label="法规",
        # Not the regulations' texts: only what the filters and the page read.
        queryset=Regulation.objects.order_by("title").only("id", "code", "title", "effective_date"),
        to_field_name="code",
        required=False,
        empty_label="全部法规",
        widget=PlainSelect(label_field="title"),
    )
    level = forms.ChoiceField(label="层级", choices=[("", "全部层级"), *Department.Level.choices], required=False)
    department = forms.ModelChoiceField(
        label="责任单位",
        queryset=Department.objects.filter(active=True),
        to_field_name="code",
        required=False,
        empty_label="全部单位",
        widget=PlainSelect(label_field="name"),
    )
    date_from = forms.DateField(label="完成期限自", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="完成期限至", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("开始日期不能晚于结束日期。", code="bad_date_range")
        return data

    def to_filters(self) -> DashboardFilters:
        data = self.cleaned_data
        return DashboardFilters(
            regulation=data.get("regulation"),
            level=data.get("level") or "",
            department=data.get("department"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
