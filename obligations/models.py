"""The regulation as imported, the obligations it creates, and the work done on them.

The rules every page, API, reminder and report reads are written here once ("One truth"):
- overdue: `overdue_q()` (SQL) and `is_overdue()` (one value in hand), used by
  `ObligationQuerySet.overdue()` and `Obligation.is_overdue()`; ever overdue (曾逾期):
  `ObligationQuerySet.with_missed_due_date()` (SQL) and `was_overdue()`;
- the light (督查督办 亮灯): `LightWindow` (today and the last due date that is still yellow,
  counted in working days from core.calendar, computed once per request), `light_case()` (SQL,
  `ObligationQuerySet.with_light()`) and `light_of()` (`Obligation.traffic_light()`);
- the citation: `regulations.parser.citation()`.
The figures built on them (counts, the on-time rate) are in `obligations/figures.py`; rules that
change rows live in `obligations/services.py`.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from accounts.models import Department
from core import clock
from core.calendar import WorkCalendar
from core.clock import today
from regulations.models import Clause

# --- The rules: overdue and the light ------------------------------------------------------------
# Each rule is written twice side by side, once as SQL (for lists and counts) and once for the
# one row in hand (a page, a serializer, a service, a report's row rebuilt from history), and
# nowhere else. tests/test_one_truth.py checks that the two forms agree.


def open_q() -> models.Q:
    """On the body's desk: not handed in (not submitted, not verified) and not ended (已废止: its
    duty was repealed by an amendment of the regulation). An ended obligation is never overdue,
    never lights red or yellow and counts neither way in the on-time rate."""
    return ~models.Q(status__in=Obligation.OFF_DESK_STATUSES)


def is_open(status: str) -> bool:
    """`open_q()` for one row in hand."""
    return status not in Obligation.OFF_DESK_STATUSES


def overdue_q(on: dt.date) -> models.Q:
    """Overdue on `on`: its due date is before that day and it has not been handed in (or ended)."""
    return models.Q(due_date__lt=on) & open_q()


def is_overdue(status: str, due: dt.date | None, on: dt.date) -> bool:
    """`overdue_q()` for one row in hand."""
    return due is not None and due < on and is_open(status)


def was_overdue(missed_due_date: dt.date | None, status: str, due: dt.date | None, on: dt.date) -> bool:
    """曾逾期 on `on`: overdue that day, or a due date it missed before that day is on record
    (`missed_due_date`, kept when it was handed in late or its date was moved after it passed),
    even if it now reads on time. The SQL form is `ObligationQuerySet.with_missed_due_date()`:
    `missed` is not NULL."""
    return is_overdue(status, due, on) or (missed_due_date is not None and missed_due_date < on)


def days_left(due: dt.date | None, on: dt.date) -> int | None:
    """Days from `on` to the due date (negative once it has passed); None when undated."""
    return None if due is None else (due - on).days


def days_overdue(status: str, due: dt.date | None, on: dt.date) -> int:
    return (on - due).days if is_overdue(status, due, on) else 0


def yellow_working_days() -> int:
    return settings.YELLOW_WORKING_DAYS


class Light(models.TextChoices):
    """督查督办 亮灯."""

    RED = "red", "红灯（逾期）"
    YELLOW = "yellow", "黄灯（临期）"
    GREEN = "green", "绿灯"


@dataclass(frozen=True)
class LightWindow:
    """The day lights are measured on and the last due date that still lights yellow.

    Computed once per request (or sweep, or report) from the working-day calendar: a due date
    within `settings.YELLOW_WORKING_DAYS` working days of `on` is yellow, so a Thursday's window
    reaches over the weekend and a holiday eve's over the holiday.
    """

    on: dt.date
    yellow_until: dt.date

    @classmethod
    def for_day(cls, on: dt.date | None = None, *, calendar: WorkCalendar | None = None) -> "LightWindow":
        on = on or today()
        calendar = calendar or WorkCalendar()
        return cls(on, calendar.add_working_days(on, yellow_working_days()))

    def describe(self) -> str:
        """The rule in words, as the reports print it."""
        return (
            f"红灯＝逾期未提交；黄灯＝{yellow_working_days()} 个工作日内到期（至 {self.yellow_until:%Y年%m月%d日}）"
            "且未提交；绿灯＝其他（含已提交核验、已核验）"
        )


def due_soon_q(window: LightWindow) -> models.Q:
    """Yellow: due from `on` to the end of the yellow window, and not handed in."""
    return models.Q(due_date__gte=window.on, due_date__lte=window.yellow_until) & open_q()


def light_case(window: LightWindow) -> models.Case:
    """The light in SQL: red overdue, yellow due soon, green otherwise (handed in, undated, later)."""
    return models.Case(
        models.When(overdue_q(window.on), then=models.Value(Light.RED.value)),
        models.When(due_soon_q(window), then=models.Value(Light.YELLOW.value)),
        default=models.Value(Light.GREEN.value),
        output_field=models.CharField(),
    )


def light_of(status: str, due: dt.date | None, window: LightWindow) -> str:
    """`light_case()` for one row in hand."""
    if is_overdue(status, due, window.on):
        return Light.RED.value
    if due is not None and window.on <= due <= window.yellow_until and is_open(status):
        return Light.YELLOW.value
    return Light.GREEN.value


def obligation_url(pk: int, *, absolute: bool = False) -> str:
    """An obligation's page: the path, or with `absolute` the whole address a notice links to
    (SITE_URL). For rows read as values; an instance has `get_absolute_url()`."""
    path = reverse("obligation-detail", args=[pk])
    return f"{settings.SITE_URL}{path}" if absolute else path


class ObligationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(superseded_at__isnull=True)

    def visible_to(self, user):
        """The one visibility rule: staff see their body's obligations and those it cooperates on."""
        if not user.is_authenticated:
            return self.none()
        if user.sees_everything:
            return self
        if user.department_id is None:
            return self.none()
        # The cooperating bodies as a subquery, not a join: a join repeats an obligation once per
        # matching row and needs DISTINCT, which made PostgreSQL sort whole wide rows (with the
        # article's text) before it could take a page of 20.
        cooperating = self.model.cooperating.through.objects.filter(department_id=user.department_id)
        return self.filter(
            models.Q(department_id=user.department_id) | models.Q(pk__in=cooperating.values("obligation_id"))
        )

    def open(self):
        return self.filter(open_q())

    def overdue(self, on: dt.date | None = None):
        return self.filter(overdue_q(on or today()))

    def with_light(self, window: LightWindow | None = None):
        """Annotate `light` (red / yellow / green) as of the window's day."""
        return self.annotate(light=light_case(window or LightWindow.for_day()))

    def with_missed_due_date(self, on: dt.date | None = None):
        """Annotate `missed`: the due date each obligation missed, or NULL if it has missed none.

        An obligation that fell overdue keeps the date it missed in missed_due_date once a write
        ends that state (it was handed in late, or its date was moved after it had passed); one
        that is overdue right now has missed its current due_date. A plain column expression, so
        "fell overdue per week" is one GROUP BY with no pass over the history.
        """
        on = on or today()
        return self.annotate(
            missed=Coalesce(
                "missed_due_date",
                models.Case(models.When(overdue_q(on), then="due_date"), output_field=models.DateField()),
            )
        )


class Obligation(models.Model):
    """A duty of one responsible body. A clause binding 13 governments makes 13 obligations,
    so that every body tracks (and is measured on) its own progress."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "未启动"
        IN_PROGRESS = "in_progress", "推进中"
        SUBMITTED = "submitted", "待核验"
        VERIFIED = "verified", "已核验"
        REPEALED = "repealed", "已废止"

    # Submitted work is off the body's desk: the clock stops when it is handed in.
    CLOSED_STATUSES = (Status.SUBMITTED, Status.VERIFIED)
    # An amendment repealed its duty: the obligation ends, with its history (services.amendments).
    ENDED_STATUSES = (Status.REPEALED,)
    OFF_DESK_STATUSES = CLOSED_STATUSES + ENDED_STATUSES

    clause = models.ForeignKey(Clause, verbose_name="条款", on_delete=models.PROTECT, related_name="obligations")
    department = models.ForeignKey(
        Department, verbose_name="责任单位", on_delete=models.PROTECT, related_name="obligations"
    )
    cooperating = models.ManyToManyField(
        Department, verbose_name="协办单位", related_name="cooperating_obligations", blank=True
    )
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.NOT_STARTED)
    due_date = models.DateField("完成期限", null=True, blank=True)
    version = models.PositiveIntegerField("版本", default=1)
    submitted_at = models.DateTimeField("提交核验时间", null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="提交人",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    verified_at = models.DateTimeField("核验时间", null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="核验人",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_activity_at = models.DateTimeField("最近动态", null=True, blank=True)
    # The due date this obligation missed, kept once a write ends or moves that miss (handed in
    # late, due date moved after it passed). While it is still open and past due, readers take
    # due_date itself: see ObligationQuerySet.with_missed_due_date().
    missed_due_date = models.DateField("逾期的期限", null=True, blank=True)
    superseded_at = models.DateTimeField("废止时间", null=True, blank=True)
    superseded_reason = models.CharField("废止原因", max_length=200, blank=True)
    # An amendment: the clause it was carried over from (原第X条第Y款), and since when the body is
    # asked to review the duty's new words (待复核; cleared when the body confirms).
    former_clause = models.ForeignKey(
        Clause, verbose_name="原条款", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_since = models.DateTimeField("待复核自", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", default=clock.now, editable=False)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    objects = ObligationQuerySet.as_manager()

    class Meta:
        verbose_name = "义务"
        verbose_name_plural = "义务"
        ordering = ["clause__article__number", "clause__paragraph_number", "clause__ordinal", "department__sort_order"]
        constraints = [models.UniqueConstraint(fields=["clause", "department"], name="uniq_obligation_per_body")]
        indexes = [
            # The staff task list and the dashboards filter by body and state.
            models.Index(fields=["department", "status"], name="obl_dept_status"),
            # Reminder sweeps and overdue lists scan by due date.
            models.Index(fields=["due_date", "status"], name="obl_due_status"),
            # The staff task list: one body's obligations in urgency (due date) order, one page.
            models.Index(fields=["department", "due_date", "id"], name="obl_dept_due"),
            # The dashboard's verification queue, read in submission order.
            models.Index(fields=["submitted_at"], condition=models.Q(status="submitted"), name="obl_submitted_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.clause.citation} · {self.department.short_name}"

    def get_absolute_url(self) -> str:
        return obligation_url(self.pk)

    @property
    def citation(self) -> str:
        return self.clause.citation

    @property
    def former_citation(self) -> str:
        """原第十条第二款: the citation it had before the last amendment moved it ("" if none)."""
        if self.former_clause_id is None or self.former_clause.citation == self.citation:
            return ""
        return f"原{self.former_clause.citation}"

    @property
    def awaits_review(self) -> bool:
        """待复核: an amendment changed the duty's words; the body confirms them or objects."""
        return self.review_since is not None

    def is_visible_to(self, user) -> bool:
        """`Obligation.objects.visible_to(user)` for one obligation in hand: the two answers the
        rule gives without a query (everything; the body's own work), else the rule itself."""
        if not user.is_authenticated:
            return False
        if user.sees_everything or (user.department_id is not None and user.department_id == self.department_id):
            return True
        return Obligation.objects.visible_to(user).filter(pk=self.pk).exists()

    def is_overdue(self, on: dt.date | None = None) -> bool:
        return is_overdue(self.status, self.due_date, on or today())

    def days_overdue(self, on: dt.date | None = None) -> int:
        return days_overdue(self.status, self.due_date, on or today())

    def days_left(self, on: dt.date | None = None) -> int | None:
        return days_left(self.due_date, on or today())

    def traffic_light(self, window: LightWindow | None = None) -> str:
        """督查督办 亮灯 of this obligation; lists annotate the same as `light` (`with_light`)."""
        return light_of(self.status, self.due_date, window or LightWindow.for_day())


class ProgressEntry(models.Model):
    """Append-only. A correction is a new entry pointing at the one it corrects."""

    obligation = models.ForeignKey(
        Obligation, verbose_name="义务", on_delete=models.CASCADE, related_name="progress_entries"
    )
    department = models.ForeignKey(Department, verbose_name="填报单位", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="填报人", on_delete=models.PROTECT, related_name="progress_entries"
    )
    created_at = models.DateTimeField("填报时间", default=clock.now)
    text = models.TextField("工作进展")
    percent = models.PositiveSmallIntegerField("完成比例", null=True, blank=True)
    milestone = models.ForeignKey(
        "Milestone", verbose_name="完成节点", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    report_period = models.CharField("报送期次", max_length=10, blank=True)
    corrects = models.ForeignKey(
        "self", verbose_name="更正", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections"
    )

    class Meta:
        verbose_name = "工作进展"
        verbose_name_plural = "工作进展"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["obligation", "-created_at"], name="progress_obl_time")]

    def __str__(self) -> str:
        return self.text[:40]


def evidence_upload_path(instance, filename: str) -> str:
    # The stored name never comes from the user's file name: it is random, kept under the year.
    import uuid

    return f"evidence/{clock.now():%Y/%m}/{uuid.uuid4().hex}"


# How a digest algorithm is written for people (pages, reports); the stored name is lower case.
DIGEST_ALGORITHM_LABELS = {"sha256": "SHA-256", "sm3": "SM3"}


def digest_algorithm_label(algorithm: str) -> str:
    return DIGEST_ALGORITHM_LABELS.get(algorithm, (algorithm or "").upper())


class Evidence(models.Model):
    class Kind(models.TextChoices):
        FILE = "file", "文件"
        LINK = "link", "链接"
        DOCUMENT = "document", "发文字号"

    obligation = models.ForeignKey(Obligation, verbose_name="义务", on_delete=models.CASCADE, related_name="evidence")
    department = models.ForeignKey(Department, verbose_name="提交单位", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    description = models.CharField("说明", max_length=500)
    file = models.FileField("文件", upload_to=evidence_upload_path, max_length=200, blank=True)
    original_name = models.CharField("原文件名", max_length=255, blank=True)
    content_type = models.CharField("文件类型", max_length=100, blank=True)
    size = models.PositiveBigIntegerField("大小（字节）", null=True, blank=True)
    digest = models.CharField("摘要", max_length=128, blank=True)
    digest_algorithm = models.CharField("摘要算法", max_length=16, blank=True)
    url = models.URLField("链接", max_length=1000, blank=True)
    document_number = models.CharField("发文字号", max_length=100, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="提交人", on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField("提交时间", default=clock.now)

    class Meta:
        verbose_name = "佐证材料"
        verbose_name_plural = "佐证材料"
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return self.description[:40]

    @property
    def digest_label(self) -> str:
        """The algorithm this file's digest was taken with, as people write it (SHA-256, SM3)."""
        return digest_algorithm_label(self.digest_algorithm)


class Milestone(models.Model):
    obligation = models.ForeignKey(Obligation, verbose_name="义务", on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField("节点", max_length=200)
    due_date = models.DateField("节点期限")
    done_at = models.DateTimeField("完成时间", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="创建人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", default=clock.now)

    class Meta:
        verbose_name = "工作节点"
        verbose_name_plural = "工作节点"
        ordering = ["due_date", "id"]

    def __str__(self) -> str:
        return self.title


class DueDateChange(models.Model):
    """Every change of a date, with who, when and why."""

    obligation = models.ForeignKey(
        Obligation, verbose_name="义务", on_delete=models.CASCADE, related_name="due_date_changes"
    )
    milestone = models.ForeignKey(
        Milestone, verbose_name="工作节点", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    old_date = models.DateField("原期限", null=True, blank=True)
    new_date = models.DateField("新期限", null=True, blank=True)
    # Room for an approved extension's composed reason: the request's reason (500) and the
    # lead's note (500) are kept whole, never cut.
    reason = models.CharField("原因", max_length=1100)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="变更人", on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField("变更时间", default=clock.now)

    class Meta:
        verbose_name = "期限变更"
        verbose_name_plural = "期限变更"
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.old_date} → {self.new_date}"


class ExtensionRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "待审批"
        APPROVED = "approved", "已同意"
        REJECTED = "rejected", "已驳回"

    obligation = models.ForeignKey(
        Obligation, verbose_name="义务", on_delete=models.CASCADE, related_name="extension_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="申请人", on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField("申请时间", default=clock.now)
    requested_date = models.DateField("申请延至")
    reason = models.CharField("理由", max_length=500)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="审批人",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=500, blank=True)

    class Meta:
        verbose_name = "延期申请"
        verbose_name_plural = "延期申请"
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One open request at a time per obligation.
            models.UniqueConstraint(
                fields=["obligation"], condition=models.Q(status="pending"), name="one_pending_extension"
            )
        ]

    def __str__(self) -> str:
        return f"延期至 {self.requested_date}（{self.get_status_display()}）"


class Objection(models.Model):
    """提出异议: a body says a duty was assigned to it wrongly; the lead confirms or reassigns."""

    class Status(models.TextChoices):
        PENDING = "pending", "待处理"
        CONFIRMED = "confirmed", "维持原分工"
        REASSIGNED = "reassigned", "已调整"

    obligation = models.ForeignKey(Obligation, verbose_name="义务", on_delete=models.CASCADE, related_name="objections")
    department = models.ForeignKey(Department, verbose_name="提出单位", on_delete=models.PROTECT, related_name="+")
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="提出人", on_delete=models.PROTECT, related_name="+"
    )
    raised_at = models.DateTimeField("提出时间", default=clock.now)
    reason = models.CharField("理由", max_length=1000)
    suggested_department = models.ForeignKey(
        Department, verbose_name="建议责任单位", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="处理人",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField("处理时间", null=True, blank=True)
    decision_note = models.CharField("处理意见", max_length=1000, blank=True)
    new_department = models.ForeignKey(
        Department, verbose_name="调整后责任单位", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "分工异议"
        verbose_name_plural = "分工异议"
        ordering = ["-raised_at", "-id"]
        constraints = [
            # One open objection per obligation and body: concurrent requests cannot both pass the
            # service's check, the database refuses the second row.
            models.UniqueConstraint(
                fields=["obligation", "department"],
                condition=models.Q(status="pending"),
                name="one_pending_objection_per_body",
            )
        ]

    def __str__(self) -> str:
        return f"异议：{self.reason[:30]}"


class ReportingRequirement(models.Model):
    """定期报送: the lead asks for a progress report every month or quarter."""

    class Frequency(models.TextChoices):
        MONTHLY = "monthly", "每月"
        QUARTERLY = "quarterly", "每季度"

    obligation = models.OneToOneField(
        Obligation, verbose_name="义务", on_delete=models.CASCADE, related_name="reporting"
    )
    frequency = models.CharField("报送频次", max_length=16, choices=Frequency.choices)
    # A period's report is due this many days after the period ends.
    due_day = models.PositiveSmallIntegerField("期后报送天数", default=5)
    starts_on = models.DateField("起始日期")
    active = models.BooleanField("启用", default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="创建人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", default=clock.now)

    class Meta:
        verbose_name = "定期报送要求"
        verbose_name_plural = "定期报送要求"

    def __str__(self) -> str:
        return self.get_frequency_display()


class Carryover(models.Model):
    """What an amendment did to one obligation (or created it for): the old clause, the new one, how
    the duty's words changed (regulations.lineage) and what became of the obligation. The rows
    of the 修订对照表, and the way back to the old text for a report as of a day before
    `effective_on`."""

    class Outcome(models.TextChoices):
        KEPT = "kept", "保留原义务"
        REVIEW = "review", "保留原义务，待复核"
        ASSIGNED = "assigned", "新增义务"
        RELEASED = "released", "解除本单位义务"
        MERGED_AWAY = "merged_away", "并入其他义务"
        REPEALED = "repealed", "已废止"

    version = models.ForeignKey(
        "regulations.RegulationVersion", verbose_name="法规版本", on_delete=models.PROTECT, related_name="+"
    )
    obligation = models.ForeignKey(Obligation, verbose_name="义务", on_delete=models.PROTECT, related_name="carryovers")
    old_clause = models.ForeignKey(
        Clause, verbose_name="原条款", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    new_clause = models.ForeignKey(
        Clause, verbose_name="新条款", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lineage = models.CharField("对应关系", max_length=16)
    outcome = models.CharField("处理结果", max_length=16, choices=Outcome.choices)
    effective_on = models.DateField("施行日期")
    reason = models.CharField("说明", max_length=300, blank=True)
    created_at = models.DateTimeField("结转时间", default=clock.now)

    class Meta:
        verbose_name = "修订结转"
        verbose_name_plural = "修订结转"
        ordering = ["version", "id"]
        indexes = [models.Index(fields=["obligation", "effective_on"], name="carryover_obl_day")]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} #{self.obligation_id}"


class AuditEntry(models.Model):
    """Who changed what, when, before and after. Append-only and hash-chained: each entry
    carries the digest of the previous one, so an edit of history breaks the chain."""

    obligation = models.ForeignKey(
        Obligation, verbose_name="义务", on_delete=models.PROTECT, null=True, blank=True, related_name="audit_entries"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="操作人",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField("操作代码", max_length=50)
    at = models.DateTimeField("时间", default=clock.now)
    before = models.JSONField("变更前", default=dict, blank=True)
    after = models.JSONField("变更后", default=dict, blank=True)
    prev_hash = models.CharField("前一条摘要", max_length=128, blank=True)
    hash = models.CharField("本条摘要", max_length=128, blank=True)
    algorithm = models.CharField("摘要算法", max_length=16, default="sha256")

    class Meta:
        verbose_name = "审计记录"
        verbose_name_plural = "审计记录"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["obligation", "at"], name="audit_obl_time"),
            # The dashboard trend and the reports' as-of rebuild read only status changes
            # (audit.AuditAction.OBLIGATION_STATUS; audit imports this module, not the reverse).
            models.Index(
                fields=["obligation", "at"],
                condition=models.Q(action="obligation.status"),
                name="audit_status_obl_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"


class AuditCheckpoint(models.Model):
    """A signed statement of the audit chain's head: entry N had this digest and was the chain's
    L-th entry. The signature is an HMAC with AUDIT_CHECKPOINT_KEY, which is never stored in the
    database, so someone who can rewrite the database (and recompute every digest) cannot make a
    checkpoint agree with the rewrite. Each checkpoint is also appended to a log file outside the
    database (AUDIT_CHECKPOINT_LOG), so deleting checkpoints here is noticed too."""

    class Reason(models.TextChoices):
        SCHEDULE = "schedule", "定时"
        REPORT = "report", "导出报告"
        MANUAL = "manual", "手动"

    entry_id = models.BigIntegerField("审计记录编号")
    entry_hash = models.CharField("审计记录摘要", max_length=128)
    algorithm = models.CharField("摘要算法", max_length=16)
    length = models.PositiveBigIntegerField("链长")
    signed_at = models.DateTimeField("签署时间")
    reason = models.CharField("来由", max_length=16, choices=Reason.choices)
    mac = models.CharField("签名（HMAC-SHA256）", max_length=64)

    class Meta:
        verbose_name = "审计链签名检查点"
        verbose_name_plural = "审计链签名检查点"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"检查点 #{self.pk}：第 {self.entry_id} 条记录"


class OutboxMessage(models.Model):
    """The transactional outbox: a decision people must hear about, written by the service in
    the same transaction as the change (obligations.outbox.outbox_write). Who hears it and how is
    notifications' business (notifications.outbox). Delivered at most once: a deliverer claims
    the row with a conditional UPDATE on `delivered_at` in the transaction that writes the
    notifications. The table kept its name when the model moved here from notifications."""

    class Event(models.TextChoices):
        PROGRESS = "progress.cooperating", "协办单位报送进展"
        SUBMITTED = "obligation.submitted", "提交核验"
        RETURNED = "obligation.returned", "退回"
        VERIFIED = "obligation.verified", "核验通过"
        REOPENED = "obligation.reopened", "重新打开"
        DUE_DATE = "obligation.due_date", "设定或调整完成期限"
        REASSIGNED = "obligation.reassigned", "调整责任单位"
        COOPERATING = "obligation.cooperating", "增加协办单位"
        EXTENSION_REQUESTED = "extension.requested", "申请延期"
        EXTENSION_DECIDED = "extension.decided", "审批延期申请"
        OBJECTION_RAISED = "objection.raised", "提出分工异议"
        OBJECTION_DECIDED = "objection.decided", "处理分工异议"
        MILESTONE_MOVED = "milestone.due_date", "调整工作节点日期"
        REPORTING_REQUIRED = "reporting.required", "要求定期报送"
        AMENDED = "regulation.amended", "法规修订结转"

    event = models.CharField("事件", max_length=32, choices=Event.choices)
    obligation = models.ForeignKey(
        Obligation, verbose_name="义务", on_delete=models.CASCADE, related_name="outbox_messages"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="操作人",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    payload = models.JSONField("数据", default=dict, blank=True)
    created_at = models.DateTimeField("写入时间", default=clock.now)
    delivered_at = models.DateTimeField("投递时间", null=True, blank=True)
    attempts = models.PositiveSmallIntegerField("失败次数", default=0)
    last_error = models.TextField("最近错误", blank=True)

    class Meta:
        db_table = "notifications_outboxmessage"
        verbose_name = "待投递事件"
        verbose_name_plural = "待投递事件"
        ordering = ["id"]
        indexes = [
            # deliver_outbox() scans what is still undelivered.
            models.Index(fields=["id"], condition=models.Q(delivered_at__isnull=True), name="outbox_pending")
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} #{self.obligation_id}"


class DecisionSeen(models.Model):
    """The last decision on an obligation (obligations.decisions) a user has seen: the audit entry
    shown at the top of the obligation page when they last opened it. 我的任务 marks the rows whose
    latest decision is newer. Written when the page is opened, so it never waits for a message
    to be delivered."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="用户", on_delete=models.CASCADE, related_name="+")
    obligation = models.ForeignKey(
        Obligation, verbose_name="义务", on_delete=models.CASCADE, related_name="decisions_seen"
    )
    entry_id = models.BigIntegerField("已看到的审计记录编号")
    seen_at = models.DateTimeField("查看时间", default=timezone.now)

    class Meta:
        verbose_name = "已查看的决定"
        verbose_name_plural = "已查看的决定"
        constraints = [models.UniqueConstraint(fields=["user", "obligation"], name="decision_seen_once")]

    def __str__(self) -> str:
        return f"{self.user_id} 已查看义务 {self.obligation_id} 的决定 #{self.entry_id}"
