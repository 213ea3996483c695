"""List filters of the API: django-filter configured once, for every filter set.

django-filter's BooleanFilter reads a value it does not understand (?overdue=yes, ?unread=2) as
"not given" and answers with the whole list, which looks like a filtered one. Here a boolean
filter accepts true, false, 1 and 0 and refuses anything else with 400, naming the parameter.

- `BooleanFilter`: declare boolean filters with this one;
- `FilterSet`: the base of every filter set; a model's BooleanField listed in Meta.fields gets
  the strict filter too;
- `FilterBackend`: DRF's backend (settings.REST_FRAMEWORK), building `filterset_fields` on the
  same base.
"""

import django_filters
from django import forms
from django.db import models
from django_filters import rest_framework as drf_filters


class StrictBooleanField(forms.Field):
    VALUES = {"true": True, "1": True, "false": False, "0": False}
    default_error_messages = {"invalid": "只能是 true、false、1 或 0"}

    def to_python(self, value):
        if value in self.empty_values:
            return None  # not given
        try:
            return self.VALUES[str(value)]
        except KeyError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class FilterSet(drf_filters.FilterSet):
    FILTER_DEFAULTS = {**drf_filters.FilterSet.FILTER_DEFAULTS, models.BooleanField: {"filter_class": BooleanFilter}}


class FilterBackend(drf_filters.DjangoFilterBackend):
    filterset_base = FilterSet
