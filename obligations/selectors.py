"""Reads: the lists and pages the web UI and the API show."""

import datetime as dt

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When

from core.clock import today

from .models import Obligation, ReportingRequirement
from .services import ReportingStatus, reporting_status


def obligation_list(*, user, on: dt.date | None = None) -> QuerySet[Obligation]:
    """The obligations a user sees, most urgent first: overdue (longest overdue first), then by due
    date, undated last."""
    on = on or today()
    late = Q(due_date__lt=on) & ~Q(status__in=Obligation.CLOSED_STATUSES)
    return (
        Obligation.objects.visible_to(user)
        .active()
        .select_related("department", "clause__article__chapter")
        .annotate(late=Case(When(late, then=Value(1)), default=Value(0), output_field=IntegerField()))
        .order_by("-late", F("due_date").asc(nulls_last=True), "clause__article__number", "id")
    )


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
