"""What the report says: obligations and evidence as they stood at the end of a day.

A report for a past date is rebuilt from the recorded history, not from today's rows:
- state, due date, responsible body and cooperating bodies come from the last
  "obligation.status" / "obligation.due_date" / "obligation.reassigned" / "obligation.cooperating"
  audit entry at or before the cutoff; with none, from the "before" of the first entry after it
  (the value the change replaced); with no entry at all, the value never changed and the row's
  own field is the answer;
- progress and evidence count when created_at / uploaded_at is before the cutoff;
- submitted / verified: the last status entry moving to that state before the cutoff.
The cutoff is midnight after the as-of day in Asia/Shanghai. Everything is annotated on one
query (correlated subqueries on the audit_obl_time index), iterated in chunks: the number of
queries does not grow with the number of obligations, and neither does memory.
"""

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from functools import cached_property

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone

from accounts.models import Department
from obligations.audit import AuditAction, ChainHead, head_statement
from obligations.figures import (
    ON_TIME_RULE,
    Timeliness,
    format_rate,
    handed_in_day,
    in_body_order,
    in_total,
    on_time_rate,
    repealed_note,
    timeliness_of,
)
from obligations.models import (
    AuditEntry,
    DueDateChange,
    Evidence,
    Light,
    LightWindow,
    Obligation,
    ProgressEntry,
    digest_algorithm_label,
    light_of,
    was_overdue,
)
from obligations.selectors import cooperating_codes, former_clauses
from regulations.models import Regulation, RegulationVersion, cite

CHUNK_SIZE = 2000
STATUS_LABELS = dict(Obligation.Status.choices)
KIND_LABELS = dict(Evidence.Kind.choices)
CLOSED = {Obligation.Status.SUBMITTED.value, Obligation.Status.VERIFIED.value}
__all__ = ["ON_TIME_RULE", "format_rate"]  # the figures' words and format, from obligations.figures


@dataclass(frozen=True)
class ReportFilters:
    """The selection a report covers. `as_of` None (or today) means the current state."""

    department: str = ""
    chapter: int | None = None
    status: str = ""
    due_from: dt.date | None = None
    due_to: dt.date | None = None
    as_of: dt.date | None = None
    regulation: str = ""  # a regulation's code; empty: the first imported

    def to_params(self) -> dict:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value in (None, ""):
                continue
            out[f.name] = value.isoformat() if isinstance(value, dt.date) else value
        return out

    @classmethod
    def from_params(cls, params: dict) -> "ReportFilters":
        def day(name):
            value = params.get(name)
            return dt.date.fromisoformat(value) if value else None

        chapter = params.get("chapter")
        return cls(
            department=params.get("department", "") or "",
            chapter=int(chapter) if chapter not in (None, "") else None,
            status=params.get("status", "") or "",
            due_from=day("due_from"),
            due_to=day("due_to"),
            as_of=day("as_of"),
            regulation=params.get("regulation", "") or "",
        )

    def with_department(self, code: str) -> "ReportFilters":
        return replace(self, department=code)


@dataclass
class ReportContext:
    regulation: Regulation
    filters: ReportFilters
    generated_by: str
    generated_at: dt.datetime
    head: ChainHead
    departments: dict[str, Department]
    restrict_to_user: object = None  # a staff user whose visibility bounds the scope

    @property
    def historical(self) -> bool:
        as_of = self.filters.as_of
        return as_of is not None and as_of < timezone.localtime(self.generated_at).date()

    @property
    def on(self) -> dt.date:
        """The day "overdue" is measured on."""
        return self.filters.as_of if self.historical else timezone.localtime(self.generated_at).date()

    @cached_property
    def window(self) -> LightWindow:
        """The lights as of the report's day, from the working-day calendar (once per report)."""
        return LightWindow.for_day(self.on)

    @property
    def cutoff(self) -> dt.datetime | None:
        """Midnight after the as-of day in Asia/Shanghai; None for the current state."""
        if not self.historical:
            return None
        next_day = self.filters.as_of + dt.timedelta(days=1)
        return timezone.make_aware(dt.datetime.combine(next_day, dt.time.min))

    @property
    def title(self) -> str:
        return f"《{self.regulation.title}》义务履行情况报告"

    @cached_property
    def version(self) -> RegulationVersion | None:
        """The version of the text in force on the report's day (the first one before any took
        effect): a report as of a day before an amendment took effect shows the old text."""
        versions = self.regulation.versions.order_by("-number")
        return versions.filter(effective_on__lte=self.on).first() or versions.last()

    def header_lines(self) -> list[tuple[str, str]]:
        """The header every format prints: what, as of when, by whom, which selection, which chain."""
        reg = self.regulation
        version = self.version
        effective_on = version.effective_on if version else reg.effective_date
        effective = f"（{effective_on:%Y年%m月%d日}起施行）" if effective_on else ""
        if version is not None and reg.versions.count() > 1:
            effective = f"{version.label}{effective}"
        if self.historical:
            state = f"{self.on:%Y年%m月%d日}日终（依据审计记录还原的历史状态）"
        else:
            state = f"{self.on:%Y年%m月%d日}（生成时的当前状态）"
        head = self.head
        chain = head_statement(head.entry_id, head.algorithm, head.hash) if head.entry_id else "审计链为空"
        return [
            ("报告名称", self.title),
            ("法规", f"{reg.title}{effective}"),
            ("状态截至", state),
            ("生成人", self.generated_by),
            ("生成时间", f"{timezone.localtime(self.generated_at):%Y-%m-%d %H:%M:%S}（北京时间）"),
            ("筛选条件", self.describe_filters()),
            ("审计链头（生成时）", chain),
            *(
                [
                    ("审计链长度", f"{head.length} 条记录"),
                    ("核对方法", f"manage.py verify_audit_trail --expect-head {head.entry_id}:{head.hash}"),
                ]
                if head.entry_id
                else []
            ),
            ("统计口径", ON_TIME_RULE),
            ("亮灯规则", self.window.describe()),
        ]

    def describe_filters(self) -> str:
        f = self.filters
        parts = []
        if f.department:
            dept = self.departments.get(f.department)
            parts.append(f"责任单位：{dept.name if dept else f.department}")
        if f.chapter is not None:
            chapter = self.regulation.chapters.filter(number=f.chapter).first()
            parts.append(f"章：{chapter if chapter else f.chapter}")
        if f.status:
            parts.append(f"状态：{STATUS_LABELS.get(f.status, f.status)}")
        if f.due_from or f.due_to:
            start = f.due_from.isoformat() if f.due_from else "不限"
            end = f.due_to.isoformat() if f.due_to else "不限"
            parts.append(f"完成期限：{start} 至 {end}")
        return "；".join(parts) if parts else "全部义务"


@dataclass
class ObligationRow:
    obligation_id: int
    citation: str
    chapter: str
    clause_text: str
    department_code: str
    department: str
    cooperating: str
    status: str
    status_label: str
    due_date: dt.date | None
    submitted_at: dt.datetime | None
    submitted_by: str
    verified_at: dt.datetime | None
    verified_by: str
    timeliness: str
    timeliness_kind: str  # obligations.figures.Timeliness: on_time / late / overdue / pending / no_due
    days_late: int | None
    light: str  # obligations.models.Light as of the report's day

    @property
    def light_label(self) -> str:
        return Light(self.light).label

    latest_progress: str
    latest_progress_at: dt.datetime | None
    percent: int | None
    evidence_count: int
    ever_overdue: bool = False  # 曾逾期 (obligations.models.was_overdue), as of the report's day

    @property
    def ever_overdue_label(self) -> str:
        return "是" if self.ever_overdue else "否"


@dataclass
class DueChangeRow:
    """One entry of an obligation's due-date history (期限调整)."""

    obligation_id: int
    citation: str
    department: str
    old_date: dt.date | None
    new_date: dt.date | None
    reason: str
    changed_by: str
    changed_at: dt.datetime

    @property
    def missed_before(self) -> bool:
        """The old date had already passed when it was moved: the move followed a miss."""
        return self.old_date is not None and self.old_date < self.changed_at.date()

    @property
    def missed_before_label(self) -> str:
        return "是" if self.missed_before else ""


@dataclass
class EvidenceRow:
    evidence_id: int
    obligation_id: int
    citation: str
    department: str
    kind: str
    kind_label: str
    description: str
    reference: str  # file name, link or document number
    digest: str
    algorithm: str
    size: int | None
    uploaded_by: str
    uploaded_at: dt.datetime
    file_path: str  # storage name, for the bundle


@dataclass
class Summary:
    """Counts for the summary sheet, accumulated while the rows stream past."""

    total: int = 0  # 义务总数: without 已废止 (obligations.figures.TOTAL_RULE)
    rows: int = 0  # every row the report lists, 已废止 too
    by_state: Counter = field(default_factory=Counter)
    by_body: dict = field(default_factory=dict)
    overdue: int = 0
    on_time: int = 0
    late: int = 0
    evidence: int = 0

    def add(self, row: ObligationRow) -> None:
        self.rows += 1
        self.by_state[row.status] += 1
        body = self.by_body.setdefault(row.department_code, Counter())
        body[row.status] += 1
        if in_total(row.status):
            self.total += 1
            body["total"] += 1
        body[row.timeliness_kind] += 1
        self.evidence += row.evidence_count
        if row.timeliness_kind == "overdue":
            self.overdue += 1
        elif row.timeliness_kind == "on_time":
            self.on_time += 1
        elif row.timeliness_kind == "late":
            self.late += 1

    @property
    def on_time_rate(self) -> float | None:
        return on_time_rate(self.on_time, self.late, self.overdue)

    @property
    def repealed(self) -> int:
        return self.by_state.get(Obligation.Status.REPEALED, 0)

    @property
    def repealed_note(self) -> str:
        """ "另有已废止 N 项" beside the total, or ""."""
        return repealed_note(self.repealed)

    def state_rows(self) -> list[tuple[str, int]]:
        return [(label, self.by_state.get(code, 0)) for code, label in Obligation.Status.choices]

    def body_rows(self, departments: dict[str, Department]) -> list[list]:
        """[name, total, one count per state…, overdue, on-time rate] per body, in the dashboard's
        order (obligations.figures.in_body_order: most overdue first, then the registry's order)."""

        def sort_order(code):
            dept = departments.get(code)
            return dept.sort_order if dept else 10**9

        codes = in_body_order(
            list(self.by_body),
            overdue=lambda code: self.by_body[code].get("overdue", 0),
            sort_order=sort_order,
            code=lambda code: code,
        )
        rows = []
        for code in codes:
            c = self.by_body[code]
            dept = departments.get(code)
            rows.append(
                [dept.name if dept else code, c["total"]]
                + [c.get(s, 0) for s, _ in Obligation.Status.choices]
                + [c.get("overdue", 0), on_time_rate(c.get("on_time", 0), c.get("late", 0), c.get("overdue", 0))]
            )
        return rows


# --- the query -------------------------------------------------------------------------------


def _entries(action: str, cutoff: dt.datetime, *, before: bool):
    qs = AuditEntry.objects.filter(obligation=OuterRef("pk"), action=action)
    if before:
        return qs.filter(at__lt=cutoff).order_by("-at", "-id")
    return qs.filter(at__gte=cutoff).order_by("at", "id")


def _value_at(action: str, key: str, cutoff: dt.datetime, live, output_field):
    """The value of `key` at the cutoff, from the audit trail, else the row's own value."""
    last = _entries(action, cutoff, before=True)
    following = _entries(action, cutoff, before=False)

    def value(qs, side):
        expr = KT(f"{side}__{key}")
        if isinstance(output_field, DateField):
            expr = Cast(expr, DateField())
        return Subquery(qs.annotate(v=expr).values("v")[:1], output_field=output_field)

    return Case(
        When(Exists(last), then=value(last, "after")),
        When(Exists(following), then=value(following, "before")),
        default=live,
        output_field=output_field,
    )


def _actor_name(prefix: str):
    return Coalesce(NullIf(F(f"{prefix}__full_name"), Value("")), F(f"{prefix}__username"))


def _transition(status: str, cutoff: dt.datetime):
    return AuditEntry.objects.filter(
        obligation=OuterRef("pk"), action=AuditAction.OBLIGATION_STATUS, after__status=status, at__lt=cutoff
    ).order_by("-at", "-id")


def obligations(ctx: ReportContext):
    """The report's obligations, annotated with their state at the cutoff (r_* fields), filtered."""
    cutoff = ctx.cutoff
    qs = Obligation.objects.filter(clause__regulation=ctx.regulation)
    if ctx.restrict_to_user is not None:
        # Staff: the one visibility rule bounds what they may export.
        qs = qs.filter(pk__in=Obligation.objects.visible_to(ctx.restrict_to_user).values("pk"))

    progress = ProgressEntry.objects.filter(obligation=OuterRef("pk"))
    evidence = Evidence.objects.filter(obligation=OuterRef("pk"))
    if cutoff is None:
        qs = qs.active().annotate(
            r_status=F("status"),
            r_due=F("due_date"),
            r_dept=F("department__code"),
            r_coop=Value(None, output_field=TextField()),
            r_sub_at=F("submitted_at"),
            r_sub_by=_actor_name("submitted_by"),
            r_ver_at=F("verified_at"),
            r_ver_by=_actor_name("verified_by"),
        )
    else:
        progress = progress.filter(created_at__lt=cutoff)
        evidence = evidence.filter(uploaded_at__lt=cutoff)
        submitted, verified = _transition("submitted", cutoff), _transition("verified", cutoff)
        name = Coalesce(NullIf(F("actor__full_name"), Value("")), F("actor__username"))
        qs = qs.filter(Q(created_at__lt=cutoff), Q(superseded_at__isnull=True) | Q(superseded_at__gte=cutoff))
        qs = qs.annotate(
            r_status=_value_at(AuditAction.OBLIGATION_STATUS, "status", cutoff, F("status"), CharField()),
            r_due=_value_at(AuditAction.OBLIGATION_DUE_DATE, "due_date", cutoff, F("due_date"), DateField()),
            r_dept=_value_at(
                AuditAction.OBLIGATION_REASSIGNED, "department", cutoff, F("department__code"), CharField()
            ),
            r_coop=_value_at(AuditAction.OBLIGATION_COOPERATING, "cooperating", cutoff, Value(None), TextField()),
            # Recorded transitions first; rows changed before the audit trail existed keep their fields.
            r_sub_at=Coalesce(
                Subquery(submitted.values("at")[:1]),
                Case(When(submitted_at__lt=cutoff, then=F("submitted_at"))),
                output_field=DateTimeField(),
            ),
            r_sub_by=Coalesce(
                Subquery(submitted.annotate(n=name).values("n")[:1]),
                Case(When(submitted_at__lt=cutoff, then=_actor_name("submitted_by"))),
                output_field=CharField(),
            ),
            r_ver_at=Coalesce(
                Subquery(verified.values("at")[:1]),
                Case(When(verified_at__lt=cutoff, then=F("verified_at"))),
                output_field=DateTimeField(),
            ),
            r_ver_by=Coalesce(
                Subquery(verified.annotate(n=name).values("n")[:1]),
                Case(When(verified_at__lt=cutoff, then=_actor_name("verified_by"))),
                output_field=CharField(),
            ),
        )
    latest = progress.order_by("-created_at", "-id")
    qs = qs.annotate(
        r_progress=Subquery(latest.values("text")[:1]),
        r_progress_at=Subquery(latest.values("created_at")[:1]),
        r_percent=Subquery(latest.values("percent")[:1]),
        r_evidence=Coalesce(
            Subquery(evidence.order_by().values("obligation").annotate(c=Count("id")).values("c")),
            0,
            output_field=IntegerField(),
        ),
    )

    f = ctx.filters
    if f.department:
        qs = qs.filter(r_dept=f.department)
    if f.chapter is not None:
        qs = qs.filter(clause__article__chapter__number=f.chapter)
    if f.status:
        qs = qs.filter(r_status=f.status)
    if f.due_from:
        qs = qs.filter(r_due__gte=f.due_from)
    if f.due_to:
        qs = qs.filter(r_due__lte=f.due_to)
    return qs


def count(ctx: ReportContext) -> int:
    with _no_jit():
        return obligations(ctx).count()


def body_counts(ctx: ReportContext) -> list[tuple[str, int]]:
    """(responsible body's code, obligations) for each body in the selection, in registry order:
    one query, grouped on the body as of the report's day."""
    with _no_jit():
        rows = list(obligations(ctx).order_by().values("r_dept").annotate(n=Count("id")).values_list("r_dept", "n"))

    def order(item):
        dept = ctx.departments.get(item[0])
        return (dept.sort_order, item[0]) if dept else (10**9, item[0] or "")

    return sorted(rows, key=order)


def _local(value: dt.datetime | None) -> dt.datetime | None:
    """Naive Beijing time: what a reader expects to see, and what XLSX can store."""
    # The default zone (Asia/Shanghai) directly: timezone.localtime() looks up the active zone
    # through a context-local on every call, a third of the rows' time at 200,000 rows.
    return value.astimezone(timezone.get_default_timezone()).replace(tzinfo=None) if value else None


def timeliness_text(kind: str, status: str, due: dt.date | None, handed: dt.date | None, on: dt.date):
    """(label, days late) for a row `obligations.figures.timeliness_of` classified as `kind`."""
    if kind == Timeliness.NO_DUE:
        return "未设期限", None
    if kind == Timeliness.ON_TIME:
        return "按期完成", 0
    if kind == Timeliness.LATE:
        late = (handed - due).days
        return f"逾期 {late} 天完成", late
    if kind == Timeliness.OVERDUE:
        late = (on - due).days
        return f"已逾期 {late} 天", late
    if status in CLOSED:
        return "已提交（时间未记录）", None
    return f"未到期（剩余 {(due - on).days} 天）", None


@contextmanager
def _no_jit():
    """PostgreSQL's JIT spends seconds compiling the as-of query's many subqueries (7 s of 7.3 s
    at 5,000 rows in bench/report_bench.py) to save milliseconds running it."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET jit")


def iter_obligation_rows(ctx: ReportContext, chunk_size: int = CHUNK_SIZE) -> Iterator[ObligationRow]:
    with _no_jit():
        yield from _obligation_rows(ctx, chunk_size)


ROW_FIELDS = (
    "id",
    "clause__article__label",
    "clause__paragraph_number",
    "clause__article__chapter__label",
    "clause__article__chapter__title",
    "clause__text",
    "r_dept",
    "r_coop",
    "r_status",
    "r_due",
    "r_sub_at",
    "r_sub_by",
    "r_ver_at",
    "r_ver_by",
    "r_progress",
    "r_progress_at",
    "r_percent",
    "r_evidence",
    "missed_due_date",
)


def _chunks(rows: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# The dashboard's order for obligations (its grid): clause by clause, each clause's bodies in the
# registry's order (Obligation.Meta.ordering).
ROW_ORDER = ("clause__article__number", "clause__paragraph_number", "clause__ordinal", "department__sort_order", "id")


def _obligation_rows(ctx: ReportContext, chunk_size: int) -> Iterator[ObligationRow]:
    """Rows from value tuples (no model instances): the whole province is 200,000 of them."""
    qs = obligations(ctx).order_by(*ROW_ORDER).values_list(*ROW_FIELDS)
    depts = ctx.departments
    names = {code: dept.name for code, dept in depts.items()}
    on, window = ctx.on, ctx.window
    for chunk in _chunks(qs.iterator(chunk_size=chunk_size), chunk_size):
        cooperating = cooperating_codes(row[0] for row in chunk)
        # Before an amendment took effect the obligation answered to the old text.
        former = former_clauses([row[0] for row in chunk], on) if ctx.historical else {}
        for (
            pk,
            article_label,
            paragraph,
            chapter_label,
            chapter_title,
            clause_text,
            dept_code,
            coop,
            status,
            due,
            sub_at,
            sub_by,
            ver_at,
            ver_by,
            progress_text,
            progress_at,
            percent,
            evidence_count,
            missed_due_date,
        ) in chunk:
            status = status or Obligation.Status.NOT_STARTED
            closed = status in CLOSED
            submitted_at = _local(sub_at) if closed else None
            verified_at = _local(ver_at) if status == Obligation.Status.VERIFIED else None
            if coop is not None:
                coop_codes = json.loads(coop) if isinstance(coop, str) else list(coop)
            else:
                coop_codes = cooperating.get(pk, [])
            # The rules and the figures' classification, applied to the state at the cutoff.
            handed = handed_in_day(status, sub_at, ver_at)
            kind = timeliness_of(status, due, handed, on)
            label, late = timeliness_text(kind, status, due, handed, on)
            if pk in former:
                old = former[pk]
                article_label, paragraph, clause_text = old.article.label, old.paragraph_number, old.text
                chapter = old.article.chapter
                chapter_label, chapter_title = (chapter.label, chapter.title) if chapter else (None, None)
            yield ObligationRow(
                obligation_id=pk,
                citation=cite(article_label, paragraph, ctx.regulation.title),
                chapter=f"{chapter_label} {chapter_title}" if chapter_label is not None else "",
                clause_text=clause_text,
                department_code=dept_code,
                department=names.get(dept_code, dept_code),
                cooperating="、".join(names.get(c, c) for c in coop_codes),
                status=status,
                status_label=STATUS_LABELS.get(status, status),
                due_date=due,
                submitted_at=submitted_at,
                submitted_by=(sub_by or "") if closed else "",
                verified_at=verified_at,
                verified_by=(ver_by or "") if verified_at else "",
                timeliness=label,
                timeliness_kind=kind,
                days_late=late,
                light=light_of(status, due, window),
                latest_progress=progress_text or "",
                latest_progress_at=_local(progress_at),
                percent=percent,
                evidence_count=evidence_count or 0,
                ever_overdue=was_overdue(missed_due_date, status, due, on),
            )


def iter_evidence_rows(ctx: ReportContext, chunk_size: int = CHUNK_SIZE) -> Iterator[EvidenceRow]:
    with _no_jit():
        yield from _evidence_rows(ctx, chunk_size)


EVIDENCE_FIELDS = (
    "id",
    "obligation_id",
    "obligation__clause__article__label",
    "obligation__clause__paragraph_number",
    "department__name",
    "kind",
    "description",
    "url",
    "document_number",
    "original_name",
    "digest",
    "digest_algorithm",
    "size",
    "uploaded_by__full_name",
    "uploaded_by__username",
    "uploaded_at",
    "file",
)


def _evidence_rows(ctx: ReportContext, chunk_size: int) -> Iterator[EvidenceRow]:
    qs = Evidence.objects.filter(obligation__in=obligations(ctx).values("pk"))
    if ctx.cutoff is not None:
        qs = qs.filter(uploaded_at__lt=ctx.cutoff)
    qs = qs.order_by(
        "obligation__clause__article__number",
        "obligation__clause__paragraph_number",
        "obligation__clause__ordinal",
        "obligation_id",
        "uploaded_at",
        "id",
    ).values_list(*EVIDENCE_FIELDS)
    references = {Evidence.Kind.LINK: 7, Evidence.Kind.DOCUMENT: 8}
    for row in qs.iterator(chunk_size=chunk_size):
        (pk, obligation_id, article_label, paragraph, department, kind, description) = row[:7]
        digest, algorithm, size, full_name, username, uploaded_at, file_name = row[10:]
        reference = row[references.get(kind, 9)]
        algorithm = (algorithm or "sha256").lower() if digest else ""
        yield EvidenceRow(
            evidence_id=pk,
            obligation_id=obligation_id,
            citation=cite(article_label, paragraph, ctx.regulation.title),
            department=department,
            kind=kind,
            kind_label=KIND_LABELS.get(kind, kind),
            description=description,
            reference=reference or "",
            digest=digest,
            algorithm=digest_algorithm_label(algorithm),
            size=size,
            uploaded_by=full_name or username,
            uploaded_at=_local(uploaded_at),
            file_path=file_name or "",
        )


# --- the due-date history (期限调整) -------------------------------------------------------------


def iter_due_changes(ctx: ReportContext, chunk_size: int = CHUNK_SIZE) -> Iterator[DueChangeRow]:
    """Every change of the due date of the report's obligations (old, new, reason, who, when), up
    to the report's day, in the rows' order and then in time. Milestone dates are not included."""
    qs = DueDateChange.objects.filter(obligation__in=obligations(ctx).values("pk"), milestone__isnull=True)
    if ctx.cutoff is not None:
        qs = qs.filter(changed_at__lt=ctx.cutoff)
    qs = qs.order_by(*(f"obligation__{key}" for key in ROW_ORDER), "changed_at", "id").values_list(
        "obligation_id",
        "obligation__clause__article__label",
        "obligation__clause__paragraph_number",
        "obligation__department__name",
        "old_date",
        "new_date",
        "reason",
        "changed_by__full_name",
        "changed_by__username",
        "changed_at",
    )
    with _no_jit():
        for pk, label, paragraph, department, old, new, reason, full_name, username, at in qs.iterator(
            chunk_size=chunk_size
        ):
            yield DueChangeRow(
                obligation_id=pk,
                citation=cite(label, paragraph, ctx.regulation.title),
                department=department,
                old_date=old,
                new_date=new,
                reason=reason,
                changed_by=full_name or username,
                changed_at=_local(at),
            )
