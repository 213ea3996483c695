"""Paging of the API's lists.

- `?page_size=` (up to MAX_PAGE_SIZE) on every paged list, so a script reads a body's or the
  province's obligations in a few requests instead of thousands.
- `?page=N` answers as it always did: the total `count`, and `next` / `previous` by page number.
  OFFSET makes page N cost N pages, and the count costs a scan of everything that matches.
- Without `?page=`, a list is read by cursor (keyset): the first page still has `count`, its
  `next` link carries the position of its last row, and every following page starts from that
  position with a WHERE on the ordering's columns instead of an OFFSET and counts nothing. A page
  deep in 200,000 rows then costs what the first one does. The cursor follows whatever order the
  list has (the default urgency order or `?ordering=`), with the primary key as the last tie-break.
"""

import base64
import binascii
import datetime as dt
import json
import math

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, models
from django.db.models import Count, F, OrderBy, Q, Window
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from core.validators import sane_date, sane_moment

MAX_PAGE_SIZE = 500
# A cursor is read from the URL, so anyone may edit it: its values are checked against the
# columns they stand for before they reach a WHERE (a dict for a number, a NUL in a text, an
# integer beyond the column's type, a date-time past year 9999 were 500s from the database).
MAX_CURSOR_TEXT = 1000


def _field_at(queryset, path: str):
    """The model field (or the annotation's output field) at a lookup path; None if unknown."""
    if path in queryset.query.annotations:
        return getattr(queryset.query.annotations[path], "output_field", None)
    model, field = queryset.model, None
    for name in path.split("__"):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        if field.is_relation and field.related_model is not None:
            target = field.target_field if hasattr(field, "target_field") else field.related_model._meta.pk
            model, field = field.related_model, target
    return field


def clean_cursor_value(field, value):
    """The value a cursor holds for one column, as that column's type; ValueError when it cannot
    be one (a wrong type, out of the column's range, text the database refuses)."""
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise ValueError("not a column value")
    if isinstance(field, models.BooleanField):
        if not isinstance(value, bool):
            raise ValueError("not a boolean")
        return value
    if isinstance(value, bool):
        raise ValueError("a boolean for another type")
    if isinstance(field, models.IntegerField | models.AutoField):
        if not isinstance(value, int):
            raise ValueError("not an integer")
        low, high = connection.ops.integer_field_range(field.get_internal_type())
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError("beyond the column's integers")
        return value
    if isinstance(field, models.FloatField | models.DecimalField):
        if not isinstance(value, int | float) or not math.isfinite(value) or abs(value) > 1e15:
            raise ValueError("not a finite number")
        return value
    if not isinstance(value, str) or len(value) > MAX_CURSOR_TEXT or "\x00" in value:
        raise ValueError("not a text the database takes")
    if isinstance(field, models.DateTimeField):
        try:
            moment = field.to_python(value)
            sane_moment(moment)
        except (DjangoValidationError, TypeError, OverflowError) as exc:
            raise ValueError("not a date-time") from exc
        return moment
    if isinstance(field, models.DateField):
        try:
            day = field.to_python(value)
            sane_date(day)
        except (DjangoValidationError, TypeError, OverflowError) as exc:
            raise ValueError("not a date") from exc
        return day
    if field is not None and not isinstance(field, models.CharField | models.TextField | models.UUIDField):
        raise ValueError("a column the cursor cannot hold")
    if isinstance(field, models.UUIDField):
        try:
            return field.to_python(value)
        except DjangoValidationError as exc:
            raise ValueError("not a UUID") from exc
    return value


class Key:
    """One column of a keyset ordering: its lookup path, direction and where its NULLs go."""

    def __init__(self, path: str, descending: bool, nulls_last: bool, nullable: bool = True):
        self.path, self.descending, self.nulls_last = path, descending, nulls_last
        # A column that cannot be NULL needs no "OR … IS NULL" arm: that arm would keep
        # PostgreSQL from walking the column's index (a deep page became a scan and a sort).
        self.nullable = nullable

    @classmethod
    def parse(cls, term, pk_name: str) -> "Key":
        if isinstance(term, str):
            descending = term.startswith("-")
            path = term.lstrip("-")
            path = pk_name if path == "pk" else path
            # PostgreSQL's own placement, written out so SQLite (NULLs first ascending) agrees.
            return cls(path, descending, nulls_last=not descending)
        if isinstance(term, OrderBy) and isinstance(term.expression, F):
            nulls_last = term.nulls_last if (term.nulls_last or term.nulls_first) else not term.descending
            return cls(term.expression.name, term.descending, nulls_last)
        raise TypeError(f"cannot page by cursor on {term!r}")

    def reversed(self) -> "Key":
        return Key(self.path, not self.descending, not self.nulls_last, self.nullable)

    def order_by(self) -> OrderBy:
        nulls = {"nulls_last": True} if self.nulls_last else {"nulls_first": True}
        return OrderBy(F(self.path), descending=self.descending, **nulls)

    def value_of(self, row):
        return _column(row, self.path)

    def equal(self, value) -> Q:
        return Q(**{f"{self.path}__isnull": True}) if value is None else Q(**{self.path: value})

    def after(self, value) -> Q:
        """Rows that come strictly after `value` in this column's order."""
        if value is None:
            # After NULLs placed last: nothing; placed first: every non-NULL value.
            return Q(pk__in=[]) if self.nulls_last else Q(**{f"{self.path}__isnull": False})
        beyond = Q(**{f"{self.path}__{'lt' if self.descending else 'gt'}": value})
        return beyond | Q(**{f"{self.path}__isnull": True}) if self.nulls_last and self.nullable else beyond


def _nullable(model, path: str) -> bool:
    """Can the column at the end of `path` (a__b__c) be NULL, a nullable relation on the way
    included? Unknown paths (annotations) are taken as nullable."""
    for name in path.split("__"):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:  # an annotation: assume the worst
            return True
        if getattr(field, "null", True):
            return True
        model = field.related_model or model
    return False


# The first page's total, counted by the page's own query: count(*) OVER () is the number of rows
# that match before LIMIT takes the page.
PAGE_TOTAL = "page_total_"


def _sorts_every_row(queryset, keys: list[Key]) -> bool:
    """Must the database read and sort every matching row to find the first page anyway? So it is
    when the order starts with a computed column (the urgency order's "late"), which no index
    gives; then the total costs little more in the same query, and the COUNT query (its own
    building, compiling, planning and round trip: 1.6 ms of a 10 ms task list) is saved. An
    order an index gives stops after a page; there the count stays a query of its own. Never for
    DISTINCT, grouped or combined queries, where a window would count other rows than the
    result's."""
    query = queryset.query
    plain = not query.distinct and not query.combinator and query.group_by is None
    return plain and keys[0].path in query.annotations


def _column(row, path: str):
    """The value at a lookup path (a__b__c) of a row: a values() dict (its keys are the paths) or a
    model instance (followed attribute by attribute; None past a missing relation)."""
    if isinstance(row, dict):
        return row.get(path)
    for attr in path.split("__"):
        row = getattr(row, attr, None)
        if row is None:
            return None
    return row


def _refuse(constant: str):
    raise ValueError(f"{constant} is no JSON value")


def _encode_value(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


class Pagination(PageNumberPagination):
    """The project's default pagination (settings.REST_FRAMEWORK)."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    cursor_query_param = "cursor"

    def get_page_size(self, request):
        """DRF falls back to the default on a bad size and cuts a large one silently; refuse both."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"每页条数应为 1 至 {self.max_page_size} 的整数"]})
        return size

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.cursor_mode = self.page_query_param not in request.query_params
        if not self.cursor_mode:
            return super().paginate_queryset(queryset, request, view)
        self.page_size_now = self.get_page_size(request)
        keys = self._keys(queryset)
        position, backwards = self._decode(request.query_params.get(self.cursor_query_param), len(keys))
        if position is not None:
            position = self._clean(queryset, keys, position)
        self.first_page = position is None
        counted_in_page = self.first_page and _sorts_every_row(queryset, keys)
        self.count = queryset.count() if self.first_page and not counted_in_page else None
        walk = [key.reversed() for key in keys] if backwards else keys
        qs = queryset.order_by(*(key.order_by() for key in walk))
        if position is not None:
            qs = qs.filter(self._beyond(walk, position))
        if counted_in_page:
            qs = qs.annotate(**{PAGE_TOTAL: Window(Count("*"))})
        rows = list(qs[: self.page_size_now + 1])
        if counted_in_page:
            self.count = _column(rows[0], PAGE_TOTAL) if rows else 0
        more = len(rows) > self.page_size_now
        rows = rows[: self.page_size_now]
        if backwards:
            rows.reverse()
        self.keys, self.rows = keys, rows
        # Going forward, a previous page exists unless this is the first; going back, a next one.
        self.has_next = more if not backwards else True
        self.has_previous = (position is not None) if not backwards else more
        return rows

    def _keys(self, queryset) -> list[Key]:
        pk_name = queryset.model._meta.pk.name
        terms = list(queryset.query.order_by)
        if not terms and queryset.query.default_ordering:
            terms = list(queryset.model._meta.ordering)
        terms = terms or [pk_name]
        keys = [Key.parse(term, pk_name) for term in terms]
        for key in keys:
            key.nullable = _nullable(queryset.model, key.path)
        if not any(key.path == pk_name for key in keys):
            keys.append(Key(pk_name, descending=False, nulls_last=True, nullable=False))  # unique tie-break
        return keys

    @staticmethod
    def _beyond(keys: list[Key], position: list) -> Q:
        condition = Q(pk__in=[])
        for i, key in enumerate(keys):
            same = Q()
            for earlier, value in zip(keys[:i], position[:i], strict=True):
                same &= earlier.equal(value)
            condition |= same & key.after(position[i])
        return condition

    def _decode(self, raw: str | None, length: int) -> tuple[list | None, bool]:
        if raw is None:
            return None, False
        try:
            data = json.loads(
                base64.urlsafe_b64decode(raw.encode("ascii") + b"=" * (-len(raw) % 4)), parse_constant=_refuse
            )
            if not isinstance(data, dict) or set(data) - {"p", "r"}:
                raise ValueError
            position, backwards = data["p"], data.get("r", 0)
            if not isinstance(position, list) or len(position) != length or backwards not in (0, 1):
                raise ValueError
        except (ValueError, TypeError, KeyError, UnicodeEncodeError, binascii.Error, RecursionError):
            raise self._invalid_cursor() from None
        return position, bool(backwards)

    def _invalid_cursor(self) -> ValidationError:
        return ValidationError({self.cursor_query_param: ["分页游标无效，请从第一页重新读取"]})

    def _clean(self, queryset, keys: list[Key], position: list) -> list:
        try:
            return [
                clean_cursor_value(_field_at(queryset, key.path), value)
                for key, value in zip(keys, position, strict=True)
            ]
        except ValueError:
            raise self._invalid_cursor() from None

    def _link(self, row, backwards: bool) -> str:
        payload = {"p": [_encode_value(key.value_of(row)) for key in self.keys]}
        if backwards:
            payload["r"] = 1
        cursor = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
        return replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param, cursor)

    def get_next_link(self):
        if not self.cursor_mode:
            return super().get_next_link()
        return self._link(self.rows[-1], backwards=False) if self.has_next and self.rows else None

    def get_previous_link(self):
        if not self.cursor_mode:
            return super().get_previous_link()
        if not self.has_previous:
            return None
        if not self.rows:
            return remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        return self._link(self.rows[0], backwards=True)

    def get_paginated_response(self, data):
        if not self.cursor_mode:
            return super().get_paginated_response(data)
        body = {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        if self.count is not None:
            body = {"count": self.count, **body}
        return Response(body)

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["next", "previous", "results"]
        response["properties"]["count"]["description"] = "总条数：按页码（page）读取时每页都有；按游标读取时只在第一页"
        return response

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["description"] = "页码（按页码分页，含总条数）；不传则按游标分页，沿 next 链接读取"
            elif parameter["name"] == self.page_size_query_param:
                parameter["description"] = f"每页条数（默认 {self.page_size}，上限 {self.max_page_size}）"
                parameter["schema"]["maximum"] = self.max_page_size
                parameter["schema"]["minimum"] = 1
        parameters.append(
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "分页游标：取自上一页的 next / previous 链接，不要自行构造",
                "schema": {"type": "string"},
            }
        )
        return parameters
