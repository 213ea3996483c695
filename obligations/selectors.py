"""Reads: the lists and pages the web UI and the API show."""

import datetime as dt

from django.db import connections
from django.db.models import Case, F, IntegerField, OuterRef, QuerySet, Value, When

from core.clock import today

from .models import LightWindow, Obligation, ReportingRequirement, overdue_q
from .services import ReportingStatus, reporting_status


def obligation_list(*, user, window: LightWindow | None = None) -> QuerySet[Obligation]:
    """The obligations a user sees, most urgent first: overdue (longest overdue first), then by due
    date, undated last; each with its `light` as of the window's day."""
    window = window or LightWindow.for_day()
    return (
        Obligation.objects.visible_to(user)
        .active()
        .select_related("department", "clause__article__chapter")
        .with_light(window)
        .annotate(late=Case(When(overdue_q(window.on), then=Value(1)), default=Value(0), output_field=IntegerField()))
        .order_by("-late", F("due_date").asc(nulls_last=True), "clause__article__number", "id")
    )


def cooperating_codes(obligation_ids) -> dict[int, list[str]]:
    """The cooperating bodies' codes of these obligations, each list in registry order: one query
    of (obligation, code) pairs, for a page of the API or a chunk of a report (prefetch_related
    built a manager and a queryset per obligation, most of the time it took)."""
    through = Obligation.cooperating.through.objects.filter(obligation_id__in=list(obligation_ids))
    codes: dict[int, list[str]] = {}
    for obligation_id, code in through.order_by(
        "obligation_id", "department__sort_order", "department__code"
    ).values_list("obligation_id", "department__code"):
        codes.setdefault(obligation_id, []).append(code)
    return codes


def with_cooperating_codes(queryset: QuerySet[Obligation]) -> QuerySet[Obligation]:
    """Annotate `cooperating_codes` (the codes in registry order, as `cooperating_codes()` gives
    them) in the same query, where the database can: on PostgreSQL an array subquery, which it
    runs for the page's rows only, after the sort and the LIMIT. Elsewhere the queryset is left
    as it is and the rows are given their codes in one more query
    (obligations.api.serializers.attach_cooperating_codes)."""
    if connections[queryset.db].vendor != "postgresql":
        return queryset
    from django.contrib.postgres.expressions import ArraySubquery

    codes = (
        Obligation.cooperating.through.objects.filter(obligation_id=OuterRef("pk"))
        .order_by("department__sort_order", "department__code")
        .values("department__code")
    )
    return queryset.annotate(cooperating_codes=ArraySubquery(codes))


def reporting_for(*, user, on: dt.date | None = None) -> list[tuple[ReportingRequirement, ReportingStatus]]:
    """Active periodic-report requirements on the obligations `user` sees, with where each stands."""
    on = on or today()
    visible = Obligation.objects.visible_to(user).active().values("pk")
    requirements = (
        ReportingRequirement.objects.filter(active=True, obligation__in=visible)
        .select_related("obligation__department", "obligation__clause__article")
        .order_by("obligation__clause__article__number", "obligation_id")
    )
    return [(r, reporting_status(r, on)) for r in requirements]
