"""Filter backends of the API (settings.REST_FRAMEWORK["DEFAULT_FILTER_BACKENDS"])."""

from rest_framework import filters
from rest_framework.exceptions import ValidationError


class StrictOrderingFilter(filters.OrderingFilter):
    """DRF's ordering, but `?ordering=` naming a field one cannot sort on is refused (400) instead of
    silently ignored, so that a typo never passes for the default order."""

    def get_ordering(self, request, queryset, view):
        params = request.query_params.get(self.ordering_param)
        if params:
            valid = {name for name, _ in self.get_valid_fields(queryset, view, {"request": request})}
            unknown = [term for term in (t.strip() for t in params.split(",")) if term.lstrip("-") not in valid]
            if unknown:
                raise ValidationError(
                    {
                        self.ordering_param: [
                            f"不支持的排序字段：{'、'.join(unknown) or '（空）'}（可选：{'、'.join(sorted(valid))}）"
                        ]
                    }
                )
        return super().get_ordering(request, queryset, view)
