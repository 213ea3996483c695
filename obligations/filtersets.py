"""Filters for the obligation list (API and the 我的任务 page use the same rules)."""

import django_filters

from core.clock import today
from core.filters import BooleanFilter, FilterSet
from core.forms import InputForm

from .audit import AuditAction
from .models import Obligation, overdue_q


class ObligationFilterSet(FilterSet):
    regulation = django_filters.CharFilter(field_name="clause__regulation__code", label="法规代码")
    department = django_filters.CharFilter(field_name="department__code", label="责任单位代码")
    status = django_filters.ChoiceFilter(choices=Obligation.Status.choices, label="状态")
    article = django_filters.NumberFilter(field_name="clause__article__number", label="条")
    chapter = django_filters.NumberFilter(field_name="clause__article__chapter__number", label="章")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte", label="期限不晚于")
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte", label="期限不早于")
    overdue = BooleanFilter(method="filter_overdue", label="已逾期")

    class Meta:
        model = Obligation
        form = InputForm  # the rules for typed text and dates (core.validators)
        fields = ["regulation", "department", "status", "article", "chapter", "due_before", "due_after", "overdue"]

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        late = overdue_q(today())
        return queryset.filter(late) if value else queryset.exclude(late)


class ProgressFeedFilterSet(FilterSet):
    """Filters of the progress feed (/api/progress/): one obligation, one regulation, one body's
    work, a period."""

    obligation = django_filters.NumberFilter(field_name="obligation_id", label="义务编号")
    regulation = django_filters.CharFilter(field_name="obligation__clause__regulation__code", label="法规代码")
    department = django_filters.CharFilter(field_name="obligation__department__code", label="责任单位代码")
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte", label="填报时间不早于")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt", label="填报时间早于")

    class Meta:
        form = InputForm
        fields = ["obligation", "regulation", "department", "since", "until"]


class AuditFeedFilterSet(FilterSet):
    """Filters of the audit history feed (/api/history/)."""

    obligation = django_filters.NumberFilter(field_name="obligation_id", label="义务编号")
    regulation = django_filters.CharFilter(field_name="obligation__clause__regulation__code", label="法规代码")
    department = django_filters.CharFilter(field_name="obligation__department__code", label="责任单位代码")
    action = django_filters.ChoiceFilter(choices=AuditAction.choices, label="操作")
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte", label="操作时间不早于")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt", label="操作时间早于")

    class Meta:
        form = InputForm
        fields = ["obligation", "regulation", "department", "action", "since", "until"]
