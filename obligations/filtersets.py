"""Filters for the obligation list (API and the 我的任务 page use the same rules)."""

import django_filters
from django.db.models import Q

from core.clock import today
from core.forms import InputForm

from .models import Obligation


class ObligationFilterSet(django_filters.FilterSet):
    department = django_filters.CharFilter(field_name="department__code", label="责任单位代码")
    status = django_filters.ChoiceFilter(choices=Obligation.Status.choices, label="状态")
    article = django_filters.NumberFilter(field_name="clause__article__number", label="条")
    chapter = django_filters.NumberFilter(field_name="clause__article__chapter__number", label="章")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte", label="期限不晚于")
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte", label="期限不早于")
    overdue = django_filters.BooleanFilter(method="filter_overdue", label="已逾期")

    class Meta:
        model = Obligation
        form = InputForm  # the rules for typed text and dates (core.validators)
        fields = ["department", "status", "article", "chapter", "due_before", "due_after", "overdue"]

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        late = Q(due_date__lt=today()) & ~Q(status__in=Obligation.CLOSED_STATUSES)
        return queryset.filter(late) if value else queryset.exclude(late)
