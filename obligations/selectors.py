"""Reads: the lists and pages the web UI and the API show, and the reads the services and pages
share (where a body stands with its periodic reports, the objection deadline, the message a stale
write gets). Selectors import no service: a service may read through them, never the reverse."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections
from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from accounts.models import Department
from core.calendar import add_working_days
from core.clock import today
from core.errors import StaleVersion
from regulations.models import Amendment, Clause, Regulation

from .audit import AuditAction
from .figures import counts, format_rate, on_time_rate, rate
from .models import AuditEntry, Carryover, LightWindow, Obligation, ProgressEntry, ReportingRequirement, overdue_q


def obligation_list(*, user, window: LightWindow | None = None) -> QuerySet[Obligation]:
    """The obligations a user sees, most urgent first: overdue (longest overdue first), then by due
    date, undated last; each with its `light` as of the window's day."""
    window = window or LightWindow.for_day()
    return (
        Obligation.objects.visible_to(user)
        .active()
        .select_related("department", "clause__article__chapter", "clause__regulation")
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
        .select_related("obligation__department", "obligation__clause__article", "obligation__clause__regulation")
        .order_by("obligation__clause__article__number", "obligation_id")
    )
    return [(r, reporting_status(r, on)) for r in requirements]


def _describe(entry: AuditEntry) -> str:
    before, after = entry.before or {}, entry.after or {}
    labels = dict(Obligation.Status.choices)
    if entry.action == AuditAction.OBLIGATION_STATUS:
        old, new = before.get("status"), after.get("status")
        return f"状态：{labels.get(old, old)} → {labels.get(new, new)}"
    if entry.action == AuditAction.OBLIGATION_DUE_DATE:
        return f"完成期限：{before.get('due_date') or '未设置'} → {after.get('due_date') or '未设置'}"
    if entry.action == AuditAction.OBLIGATION_REASSIGNED:
        return f"责任单位：{_dept_name(before.get('department'))} → {_dept_name(after.get('department'))}"
    if entry.action == AuditAction.OBLIGATION_COOPERATING:
        names = "、".join(_dept_name(c) for c in after.get("cooperating", [])) or "无"
        return f"协办单位：{names}"
    if entry.action == AuditAction.OBLIGATION_CARRIED:
        return f"法规修订：条款 {(before.get('citation') or '')} → {(after.get('citation') or '')}"
    return str(AuditAction(entry.action).label) if entry.action in AuditAction.values else entry.action


def _dept_name(code: str | None) -> str:
    if not code:
        return "无"
    return Department.objects.filter(code=code).values_list("short_name", flat=True).first() or code


ROW_ACTIONS = (
    AuditAction.OBLIGATION_STATUS,
    AuditAction.OBLIGATION_DUE_DATE,
    AuditAction.OBLIGATION_REASSIGNED,
    AuditAction.OBLIGATION_COOPERATING,
)


def stale_message(obligation_id: int) -> str:
    entry = (
        AuditEntry.objects.filter(obligation_id=obligation_id, action__in=ROW_ACTIONS)
        .select_related("actor")
        .order_by("-id")
        .first()
    )
    if entry is None:
        return StaleVersion.default_message
    who = entry.actor.display_name if entry.actor else "系统"
    when = timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M")
    return f"该义务已被 {who} 于 {when} 修改（{_describe(entry)}），请刷新后重试"


# Every write that moves an obligation's version writes one of these (services.locking.update_row
# and the entry beside it), so the last N of them are the N versions since a copy was taken.
VERSION_ACTIONS = (
    *ROW_ACTIONS,
    AuditAction.OBLIGATION_CARRIED,
    AuditAction.OBLIGATION_REVIEWED,
    AuditAction.OBLIGATION_SUPERSEDED,
)


def changes_since(obligation: Obligation, version: int | None) -> list[str]:
    """What changed on `obligation` since its `version`, oldest first, each as "状态：未启动 → 推进中
    （张三，2026-12-07 15:20）"; the latest change alone when the version is unknown."""
    behind = obligation.version - version if version is not None and version < obligation.version else 1
    entries = (
        AuditEntry.objects.filter(obligation_id=obligation.pk, action__in=VERSION_ACTIONS)
        .select_related("actor")
        .order_by("-id")[:behind]
    )
    lines = []
    for entry in reversed(list(entries)):
        who = entry.actor.display_name if entry.actor else "系统"
        lines.append(f"{_describe(entry)}（{who}，{timezone.localtime(entry.at):%Y-%m-%d %H:%M}）")
    return lines


def assigned_on(obligation: Obligation) -> dt.date:
    """The day the obligation was (last) given to its current body: the objection window starts there."""
    entry = (
        AuditEntry.objects.filter(
            obligation=obligation,
            action=AuditAction.OBLIGATION_REASSIGNED,
            after__department=obligation.department.code,
        )
        .order_by("-id")
        .first()
    )
    moment = entry.at if entry else obligation.created_at
    if obligation.review_since is not None:  # an amendment changed its words: a new assignment
        moment = max(moment, obligation.review_since)
    return timezone.localdate(moment)


def former_clauses(obligation_ids: list[int], on: dt.date) -> dict:
    """The clause each obligation answered to on `on`, where an amendment in force only after that
    day has since moved it to another (the earliest such amendment's old clause)."""
    out = {}
    rows = (
        Carryover.objects.filter(obligation_id__in=obligation_ids, effective_on__gt=on, old_clause__isnull=False)
        .select_related("old_clause__article__chapter")
        .order_by("effective_on", "id")
    )
    for row in rows:
        out.setdefault(row.obligation_id, row.old_clause)
    return out


def objection_deadline(obligation: Obligation) -> dt.date:
    return add_working_days(assigned_on(obligation), settings.OBJECTION_WINDOW_DAYS)


@dataclass
class Period:
    label: str
    start: dt.date
    end: dt.date


def period_containing(day: dt.date, frequency: str) -> Period:
    if frequency == ReportingRequirement.Frequency.MONTHLY:
        start = day.replace(day=1)
        nxt = (start + dt.timedelta(days=32)).replace(day=1)
        return Period(f"{day:%Y-%m}", start, nxt - dt.timedelta(days=1))
    quarter = (day.month - 1) // 3 + 1
    start = dt.date(day.year, 3 * quarter - 2, 1)
    nxt = dt.date(day.year + 1, 1, 1) if quarter == 4 else dt.date(day.year, 3 * quarter + 1, 1)
    return Period(f"{day.year}Q{quarter}", start, nxt - dt.timedelta(days=1))


@dataclass
class ReportingStatus:
    """Where a body stands with its periodic reports on a given day."""

    frequency: str
    period: str  # the period whose report is due next (or is missing)
    due_on: dt.date  # when that report is (was) due
    missing: bool  # the due date has passed and no report for the period was filed
    submitted_periods: list[str] = field(default_factory=list)


def reporting_status(requirement: ReportingRequirement, on: dt.date | None = None) -> ReportingStatus:
    on = on or today()
    filed = set(
        ProgressEntry.objects.filter(obligation_id=requirement.obligation_id)
        .exclude(report_period="")
        .values_list("report_period", flat=True)
    )
    current = period_containing(on, requirement.frequency)
    previous = period_containing(current.start - dt.timedelta(days=1), requirement.frequency)
    due_day = dt.timedelta(days=requirement.due_day)
    if previous.end >= requirement.starts_on and previous.label not in filed:
        due_on = previous.end + due_day
        return ReportingStatus(requirement.frequency, previous.label, due_on, on > due_on, sorted(filed))
    return ReportingStatus(requirement.frequency, current.label, current.end + due_day, False, sorted(filed))


@dataclass
class RegulationLine:
    """One regulation on /regulation/: its duties and how the work on them stands (the obligations
    the user sees), counted with the dashboard's figures (obligations.figures)."""

    regulation: Regulation
    duties: int
    total: int = 0
    verified: int = 0
    submitted: int = 0
    overdue: int = 0
    on_time: int = 0
    late: int = 0
    repealed: int = 0  # 已废止: outside `total` (obligations.figures.TOTAL_RULE)

    @property
    def in_force(self) -> bool:
        effective = self.regulation.effective_date
        return effective is None or effective <= today()

    @property
    def done_share(self) -> float | None:
        return rate(self.verified, self.total)

    @property
    def done_percent(self) -> int:
        share = self.done_share
        return round(share * 100) if share is not None else 0

    @property
    def on_time_rate(self) -> str:
        return format_rate(on_time_rate(self.on_time, self.late, self.overdue))


def regulation_lines(*, user, window: LightWindow | None = None) -> list[RegulationLine]:
    """Every regulation imported, oldest first, with its duty clauses and the figures of the
    obligations `user` sees under it (two queries)."""
    window = window or LightWindow.for_day()
    # Not the texts: a list of titles and dates (a regulation's text is tens of KB, each version's too).
    regulations = (
        Regulation.objects.order_by("effective_date", "id")
        .defer("source_text", "preamble")
        .annotate(
            duty_count=Count("clauses", filter=Q(clauses__kind=Clause.Kind.DUTY, clauses__superseded_at__isnull=True))
        )
    )
    figures = {
        row["clause__regulation"]: row
        for row in Obligation.objects.visible_to(user)
        .active()
        .values("clause__regulation")
        .annotate(**counts(window))
        .order_by()
    }
    lines = []
    for regulation in regulations:
        row = figures.get(regulation.pk, {})
        lines.append(
            RegulationLine(
                regulation=regulation,
                duties=regulation.duty_count,
                total=row.get("total", 0),
                verified=row.get(str(Obligation.Status.VERIFIED), 0),
                submitted=row.get(str(Obligation.Status.SUBMITTED), 0),
                overdue=row.get("overdue", 0),
                on_time=row.get("on_time", 0),
                late=row.get("late", 0),
                repealed=row.get(str(Obligation.Status.REPEALED), 0),
            )
        )
    return lines


# --- an amendment confirmed before its effective date (待生效) -----------------------------------

PENDING_WILL = {
    Carryover.Outcome.KEPT: "条文未变，引用改为{new}，办理情况保留",
    Carryover.Outcome.REVIEW: "改为{new}，条文有修改，届时本项义务转为待复核，请对照新旧条文确认",
    Carryover.Outcome.REPEALED: "该条款被删除，本项义务届时以“已废止”结束，原有记录保留",
    Carryover.Outcome.RELEASED: "修订后该条款（{new}）不再由本单位承担，届时解除本单位的义务",
    Carryover.Outcome.MERGED_AWAY: "该条款并入{new}，本项义务届时并入该条的义务",
}


@dataclass
class PendingChange:
    """What a pending amendment will do to one obligation, in the words its page shows."""

    amendment: Amendment
    outcome: str
    will: str

    @property
    def headline(self) -> str:
        day = self.amendment.effective_on
        made = self.amendment.get_kind_display()
        return f"本条将于{day.year}年{day.month}月{day.day}日起按{made}后文本执行"


def pending_amendment(regulation_id: int) -> Amendment | None:
    """The regulation's amendment waiting for its effective date, if any (at most one)."""
    return (
        Amendment.objects.filter(regulation_id=regulation_id, state=Amendment.State.PENDING)
        .select_related("confirmed_by", "regulation")
        .first()
    )


def pending_change(obligation: Obligation) -> PendingChange | None:
    """The change a pending amendment will make to this obligation on its effective date (None for
    none, or for a duty kept word for word under its number)."""
    amendment = pending_amendment(obligation.clause.regulation_id)
    if amendment is None:
        return None
    entry = amendment.plan.get("obligations", {}).get(str(obligation.pk))
    if not entry or not entry.get("tell"):
        return None
    will = PENDING_WILL.get(entry["outcome"], "").format(new=entry.get("new", ""), old=entry.get("old", ""))
    return PendingChange(amendment, entry["outcome"], will)


def pending_summary(amendment: Amendment) -> list[tuple[str, int]]:
    """A pending amendment's plan counted by what will happen (label, number), in the 修订对照表's order."""
    counts = amendment.plan.get("counts", {})
    return [(label, counts[value]) for value, label in Carryover.Outcome.choices if counts.get(value)]
