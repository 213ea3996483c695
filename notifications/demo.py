"""The demo: the seed regulation, one account per role, and a year of implementation told as a story.

`seed_demo` imports the regulation and the registry, creates the demo accounts (printed, with the
DEMO_PASSWORD) and, on an empty tracker, tells a year of work through the services, each step at
the moment it happened (`core.clock.told_at`): the regulation imported a year ago, due dates set,
work started and reported month by month, evidence added, submissions verified or returned,
extensions asked for and decided, objections raised and decided, a missed date moved, the weekly
reminder sweep run and the outbox delivered at the time. The services write the audit trail and
the outbox themselves, so the chain verifies and every page, trend and report reads the story as
it would read real work.

Deterministic: one fixed random seed, every date relative to today. Told once: a tracker whose
obligations already have due dates (the story, or real work) is left as it is.

Bodies without a demo login get a story clerk (username `demo_<code>`) with no usable password:
they act in the story and cannot sign in.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import Department, User
from core import clock
from core.calendar import WorkCalendar
from core.clock import told_at
from obligations import outbox as obligation_outbox
from obligations import services
from obligations.models import DueDateChange, ExtensionRequest, Objection, Obligation
from obligations.seeding import import_regulation
from regulations.parser import read_regulation_file
from regulations.registry import load_departments

from . import outbox, reminders

SEED_REGULATION = Path(settings.BASE_DIR) / "fixtures" / "jinan-digital-economy-promotion-2024.txt"
STORY_SEED = 20250101
STORY_DAYS = 365

# (username, full name, role, department code)
DEMO_ACCOUNTS = [
    ("admin", "系统管理员", User.Role.ADMIN, "JN-DSJ"),
    ("lead", "王督办", User.Role.LEAD, "JN-GXJ"),
    ("auditor", "李审计", User.Role.AUDITOR, "JN-SJJ"),
    ("staff_gxj", "张工信", User.Role.STAFF, "JN-GXJ"),
    ("staff_dsj", "赵数据", User.Role.STAFF, "JN-DSJ"),
    ("staff_fgw", "钱发改", User.Role.STAFF, "JN-FGW"),
    ("staff_lixia", "孙历下", User.Role.STAFF, "JN-LIXIA"),
    ("staff_gov", "周市府", User.Role.STAFF, "JN-GOV"),
]

PROGRESS_TEXTS = [
    "已制定工作方案，明确责任处室和时间节点。",
    "召开专题推进会，完成任务分解，相关处室按节点推进。",
    "完成调研和意见征集，形成初稿，正在征求相关部门意见。",
    "主体工作基本完成，正在整理佐证材料。",
]
RETURN_REASONS = [
    "佐证材料不足以证明任务完成，请补充正式印发文件。",
    "提交的方案尚未经单位审议，请补充会议纪要。",
]
EXTENSION_REASONS = [
    "涉及多部门会签，流程尚未走完，申请延期。",
    "上级政策尚未出台，需待政策明确后再行推进。",
]
OBJECTION_REASON = "该项职责涉及全市统筹，建议由市级主管部门牵头，我单位配合。"
MOVED_REASON = "原定期限已过，经督办会研究，结合实际调整完成期限。"


@dataclass
class Accounts:
    people: dict[str, User]  # the printed demo accounts, by username
    clerks: dict[int, User] = field(default_factory=dict)  # department id -> who works there in the story

    @property
    def lead(self) -> User:
        return self.people["lead"]


def seed(*, story: bool = True) -> tuple[Accounts, bool]:
    """Import, create the accounts, and tell the story once. Returns the accounts and whether the
    story was told by this call."""
    with transaction.atomic():
        load_departments()
    start = _moment(timezone.localdate(clock.real_now()) - dt.timedelta(days=STORY_DAYS), 9, 0)
    fresh = not Obligation.objects.exists()
    with transaction.atomic(), told_at(start if fresh and story else clock.real_now()):
        import_regulation(read_regulation_file(SEED_REGULATION), code=SEED_REGULATION.stem)
    accounts = Accounts(_demo_accounts())
    if not story or DueDateChange.objects.exists():
        return accounts, False
    accounts.clerks = {u.department_id: u for u in accounts.people.values() if u.role == User.Role.STAFF}
    # The story's emails were "sent" a year ago: recorded as sent, not printed on the console.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        Story(accounts, start).tell()
    return accounts, True


def _moment(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _demo_accounts() -> dict[str, User]:
    result = {}
    departments = {d.code: d for d in Department.objects.filter(code__in={a[3] for a in DEMO_ACCOUNTS})}
    for username, full_name, role, code in DEMO_ACCOUNTS:
        dept = departments[code]
        user, created = User.objects.get_or_create(
            username=username, defaults={"full_name": full_name, "role": role, "department": dept}
        )
        if created or not user.check_password(settings.DEMO_PASSWORD):
            user.set_password(settings.DEMO_PASSWORD)
        user.full_name, user.role, user.department = full_name, role, dept
        user.email = f"{username}@tracker.local"
        user.is_staff = role == User.Role.ADMIN
        user.is_superuser = role == User.Role.ADMIN
        user.save()
        result[username] = user
    return result


def _clerks(accounts: Accounts) -> dict[int, User]:
    clerks = {u.department_id: u for u in accounts.people.values() if u.role == User.Role.STAFF}
    ids = set(Obligation.objects.active().values_list("department_id", flat=True))
    for dept in Department.objects.filter(id__in=ids - set(clerks)).order_by("sort_order", "code"):
        user, created = User.objects.get_or_create(
            username=f"demo_{dept.code.lower().replace('-', '_')}",
            defaults={"full_name": f"{dept.short_name}经办人", "role": User.Role.STAFF, "department": dept},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        clerks[dept.id] = user
    return clerks


# --------------------------------------------------------------------------------------------
# The story.

# Fates: what has become of an obligation a year in.
ON_TIME_VERIFIED = "on_time_verified"
ON_TIME_SUBMITTED = "on_time_submitted"
LATE_VERIFIED = "late_verified"
LATE_SUBMITTED = "late_submitted"
OVERDUE_WORKING = "overdue_working"
OVERDUE_UNTOUCHED = "overdue_untouched"
MOVED_AFTER_MISS = "moved_after_miss"
EARLY_VERIFIED = "early_verified"
EARLY_SUBMITTED = "early_submitted"
WORKING = "working"
NOT_STARTED = "not_started"

PAST_DUE_FATES = [
    (ON_TIME_VERIFIED, 44),
    (ON_TIME_SUBMITTED, 8),
    (LATE_VERIFIED, 13),
    (LATE_SUBMITTED, 6),
    (OVERDUE_WORKING, 15),
    (OVERDUE_UNTOUCHED, 6),
    (MOVED_AFTER_MISS, 8),
]
FUTURE_DUE_FATES = [(EARLY_VERIFIED, 6), (EARLY_SUBMITTED, 8), (WORKING, 46), (NOT_STARTED, 40)]


class Story:
    def __init__(self, accounts: Accounts, start: dt.datetime):
        self.accounts = accounts
        self.rng = random.Random(STORY_SEED)
        self.cal = WorkCalendar()
        self.start = timezone.localdate(start)
        self.today = timezone.localdate(clock.real_now())
        self.events: list[tuple[dt.datetime, int, Callable[[], None]]] = []

    # -- time ---------------------------------------------------------------------------------

    def day(self, n: int) -> dt.date:
        """Story day n (0 = the import, STORY_DAYS = today) moved to a working day."""
        return self.cal.working_day_on_or_after(self.start + dt.timedelta(days=n))

    def at(self, day: dt.date, hour: int | None = None) -> dt.datetime:
        hour = self.rng.randint(9, 16) if hour is None else hour
        moment = _moment(day, hour, self.rng.randint(0, 59))
        return min(moment, clock.real_now() - dt.timedelta(minutes=5))

    def plan(self, when: dt.datetime, action: Callable[[], None]) -> None:
        self.events.append((when, len(self.events), action))

    def n(self, day: dt.date) -> int:
        return (day - self.start).days

    # -- the plan -----------------------------------------------------------------------------

    def tell(self) -> None:
        obligations = list(Obligation.objects.active().select_related("department").order_by("id"))
        self.rng.shuffle(obligations)
        lead = self.accounts.lead
        objecting = [o for o in obligations if o.department.level == Department.Level.DISTRICT]
        objections = {o.pk for o in objecting[:6]}
        for index, obligation in enumerate(obligations):
            self.plan_obligation(obligation, index, lead, obligation.pk in objections)
        # The lead sets the dates first (days 1-2); the bodies name their clerks on day 3, so the
        # dates reach the demo staff, and the story's clerks start from their ledger.
        self.plan(self.at(self.day(3), 8), self.name_clerks)
        self.plan_sweeps()
        self.versions = dict(Obligation.objects.values_list("id", "version"))
        # The story delivers each event when it happens: nothing is queued for the worker.
        with transaction.atomic(), obligation_outbox.queue_held():
            for when, _, action in sorted(self.events, key=lambda e: (e[0], e[1])):
                with told_at(when):
                    # Steps that tell someone return True: the outbox is delivered at that moment.
                    if action():
                        outbox.deliver_pending()
            outbox.deliver_pending()

    def plan_sweeps(self) -> None:
        """The reminder sweep on Monday mornings: every fourth week, weekly in the last two months
        (each sweep sends what is due that day, so the ledger shows the reminders of the year)."""
        day = self.start + dt.timedelta(days=(7 - self.start.weekday()) % 7)
        week = 0
        while day <= self.today:
            recent = (self.today - day).days <= 56
            if (recent or week % 4 == 0) and self.cal.is_working_day(day):
                self.plan(min(_moment(day, 8, 30), clock.real_now() - dt.timedelta(minutes=10)), self.sweep)
            day += dt.timedelta(days=7)
            week += 1

    def plan_obligation(self, obligation: Obligation, index: int, lead: User, objects: bool) -> None:
        rng = self.rng
        dept = obligation.department_id
        pk = obligation.pk
        # Due dates: a third came due in the first months, most during the year, the rest ahead.
        share = index / 342
        if share < 0.62:
            due_n = rng.randint(75, STORY_DAYS - 4)
        else:
            due_n = rng.randint(STORY_DAYS + 1, STORY_DAYS + 240)
        due = self.start + dt.timedelta(days=due_n)
        set_on = self.day(rng.randint(1, 2))
        self.plan(self.at(set_on, 10), lambda: self.set_due(pk, lead, due, "演示数据：初始期限"))
        if objects:
            raised = self.cal.add_working_days(self.start, rng.randint(3, 7))
            decided = self.cal.add_working_days(raised, 3)
            self.plan(self.at(raised), lambda: self.object(pk, self.clerk(dept)))
            self.plan(self.at(decided), lambda: self.decide_objection(pk, lead))

        if due < self.today:
            fate = _pick(rng, PAST_DUE_FATES)
        else:
            fate = _pick(rng, FUTURE_DUE_FATES)
        if fate == NOT_STARTED or fate == OVERDUE_UNTOUCHED:
            return

        # Extensions: asked for ahead of a date a few weeks off, mostly granted.
        effective_due, decided_on = due, None
        if fate in (WORKING, LATE_SUBMITTED, ON_TIME_VERIFIED) and rng.random() < 0.15 and due_n > 60:
            asked = self.day(due_n - rng.randint(10, 20))
            if self.start + dt.timedelta(days=40) < asked < self.today - dt.timedelta(days=7):
                wanted = due + dt.timedelta(days=rng.choice([30, 45, 60]))
                approve = rng.random() < 0.75
                reason = rng.choice(EXTENSION_REASONS)
                self.plan(self.at(asked), lambda: self.ask_extension(pk, self.clerk(dept), wanted, reason))
                decided_on = self.day(self.n(asked) + 3)
                self.plan(self.at(decided_on), lambda: self.decide_extension(pk, lead, approve))
                if approve:
                    effective_due = wanted

        started = self.day(rng.randint(8, max(9, min(120, self.n(effective_due) - 40))))
        # A few requests for more time on dates just ahead are still waiting for the lead today,
        # so the dashboard's first screen has something to decide (a random draw of its own, so
        # that the rest of the story stays as it was).
        pending = random.Random(index)
        if fate == WORKING and decided_on is None and due <= self.today + dt.timedelta(days=30):
            asked = self.cal.working_day_on_or_before(self.today - dt.timedelta(days=pending.randint(1, 6)))
            if asked > started:
                wanted = due + dt.timedelta(days=pending.choice([30, 60]))
                reason = pending.choice(EXTENSION_REASONS)
                self.plan(self.at(asked), lambda: self.ask_extension(pk, self.clerk(dept), wanted, reason))
        if fate in (ON_TIME_VERIFIED, ON_TIME_SUBMITTED, EARLY_VERIFIED, EARLY_SUBMITTED):
            latest = min(effective_due, self.today - dt.timedelta(days=2))
            handed = self.day(self.n(latest) - rng.randint(0, 25))
            if handed > latest:  # the working day after a weekend due date
                handed = self.cal.working_day_on_or_before(latest)
        elif fate in (LATE_VERIFIED, LATE_SUBMITTED):
            handed = self.day(self.n(effective_due) + rng.randint(3, 40))
        else:
            handed = None
        if handed is not None and decided_on is not None and handed <= decided_on:
            handed = self.day(self.n(decided_on) + rng.randint(1, 10))
        if handed is not None and handed >= self.today:
            handed = self.cal.working_day_on_or_before(self.today - dt.timedelta(days=1))
        if handed is not None and started >= handed:
            started = self.day(max(8, self.n(handed) - 30))
        stop = handed or self.today
        self.plan(self.at(started), lambda: self.start_work(pk, self.clerk(dept)))
        # Progress about once a month, rising.
        span = (stop - started).days
        days = [self.day(self.n(started) + span // 2)]
        if handed is None and span > 60:  # still at work: it reported lately too
            days.append(self.cal.working_day_on_or_before(self.today - dt.timedelta(days=rng.randint(2, 40))))
        elif span > 150:
            days = [self.day(self.n(started) + span // 3), self.day(self.n(started) + span * 2 // 3)]
        for k, day in enumerate(days, start=1):
            if started < day < stop or (handed is None and started < day <= stop):
                percent = 30 + 40 * (k - 1) + rng.choice([0, 10])
                self.plan(self.at(day), lambda k=k, percent=percent: self.progress(pk, self.clerk(dept), k, percent))
        if fate == MOVED_AFTER_MISS:
            moved_on = self.day(self.n(due) + rng.randint(5, 25))
            if moved_on < self.today:
                new_due = self.today + dt.timedelta(days=rng.randint(10, 90))
                self.plan(self.at(moved_on), lambda: self.set_due(pk, lead, new_due, MOVED_REASON))
            return
        if handed is None:
            return
        document = rng.random() < 0.5
        self.plan(self.at(handed, 9), lambda: self.evidence(pk, self.clerk(dept), document))
        self.plan(self.at(handed, 15), lambda: self.submit(pk, self.clerk(dept)))
        verified = fate in (ON_TIME_VERIFIED, LATE_VERIFIED, EARLY_VERIFIED)
        returned = rng.random() < 0.12 and (self.today - handed).days > 30
        last = handed
        if returned:
            back = self.day(self.n(handed) + rng.randint(2, 6))
            again = self.day(self.n(back) + rng.randint(5, 15))
            reason = rng.choice(RETURN_REASONS)
            self.plan(self.at(back), lambda: self.send_back(pk, lead, reason))
            self.plan(self.at(again, 10), lambda: self.evidence(pk, self.clerk(dept), True))
            self.plan(self.at(again, 16), lambda: self.submit(pk, self.clerk(dept)))
            last = again
        if verified:
            checked = self.day(self.n(last) + rng.randint(2, 12))
            if checked < self.today:
                self.plan(self.at(checked), lambda: self.verify(pk, lead))

    # -- the steps, each one service call -----------------------------------------------------
    # The obligation is passed as a key (the services read it afresh); its version is followed
    # here, so that each write names the version it saw without one more read.

    def clerk(self, department_id: int) -> User:
        return self.accounts.clerks[department_id]

    def name_clerks(self) -> bool:
        self.accounts.clerks = _clerks(self.accounts)
        return False

    def _bump(self, obligation: Obligation) -> bool:
        self.versions[obligation.pk] = obligation.version
        return True

    @staticmethod
    def sweep() -> bool:
        # The sweep logs a line per run; the story's fifty-odd runs are not news on the console.
        logger = logging.getLogger(reminders.__name__)
        level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            reminders.sweep()
        finally:
            logger.setLevel(level)
        return False

    def set_due(self, pk: int, lead: User, due: dt.date, reason: str) -> bool:
        return self._bump(
            services.obligation_set_due_date(
                obligation=Obligation(pk=pk),
                actor=lead,
                due_date=due,
                reason=reason,
                expected_version=self.versions[pk],
            )
        )

    def object(self, pk: int, clerk: User) -> bool:
        services.objection_raise(obligation=Obligation(pk=pk), actor=clerk, reason=OBJECTION_REASON)
        return True

    def decide_objection(self, pk: int, lead: User) -> bool:
        objection = Objection.objects.get(obligation_id=pk, status=Objection.Status.PENDING)
        services.objection_decide(
            objection=objection,
            actor=lead,
            decision="confirm",
            note="该项职责属区县政府法定职责，维持原分工；市级部门加强指导。",
        )
        return True

    def ask_extension(self, pk: int, clerk: User, wanted: dt.date, reason: str) -> bool:
        services.extension_request(obligation=Obligation(pk=pk), actor=clerk, requested_date=wanted, reason=reason)
        return True

    def decide_extension(self, pk: int, lead: User, approve: bool) -> bool:
        request = ExtensionRequest.objects.get(obligation_id=pk, status=ExtensionRequest.Status.PENDING)
        services.extension_decide(
            request=request,
            actor=lead,
            approve=approve,
            note="" if approve else "理由不充分，请按原期限推进。",
            expected_version=self.versions[pk],
        )
        if approve:
            self.versions[pk] += 1
        return True

    def start_work(self, pk: int, clerk: User) -> bool:
        return self._transition(pk, clerk, "start") and False

    def progress(self, pk: int, clerk: User, k: int, percent: int) -> bool:
        text = PROGRESS_TEXTS[min(k, len(PROGRESS_TEXTS)) - 1]
        services.progress_add(obligation=Obligation(pk=pk), actor=clerk, text=text, percent=percent)
        return False

    def evidence(self, pk: int, clerk: User, document: bool) -> bool:
        if document:
            number = document_number(clerk.department, clock.today().year, pk % 97 + 1)
            services.evidence_add(
                obligation=Obligation(pk=pk),
                actor=clerk,
                kind="document",
                description="正式印发的实施文件",
                document_number=number,
            )
        else:
            services.evidence_add(
                obligation=Obligation(pk=pk),
                actor=clerk,
                kind="link",
                description="工作方案（政府网站公开）",
                url=f"https://www.jinan.gov.cn/art/{pk}.html",
            )
        return False

    def submit(self, pk: int, clerk: User) -> bool:
        return self._transition(pk, clerk, "submit")

    def send_back(self, pk: int, lead: User, reason: str) -> bool:
        return self._transition(pk, lead, "return", reason)

    def verify(self, pk: int, lead: User) -> bool:
        return self._transition(pk, lead, "verify")

    def _transition(self, pk: int, actor: User, action: str, reason: str = "") -> bool:
        return self._bump(
            services.obligation_transition(
                obligation=Obligation(pk=pk),
                actor=actor,
                action=action,
                expected_version=self.versions[pk],
                reason=reason,
            )
        )


def document_number(department: Department, year: int, n: int) -> str:
    """A document number as the body would issue it: 济政发 (the city government), 历下政发 (a
    district's), 高新管发 (a zone's), 济工信发 (a city department's)."""
    name = department.short_name
    if department.level == Department.Level.DISTRICT:
        prefix = name.removesuffix("政府").removesuffix("区").removesuffix("县") + "政"
    elif name.endswith("管委会"):
        prefix = name.removesuffix("管委会").removesuffix("区").removesuffix("山") + "管"
    elif name == "市政府":
        prefix = "济政"
    else:
        short = name.removeprefix("市").removeprefix("委")
        for suffix in ("支队", "局", "委", "办", "院"):
            short = short.removesuffix(suffix)
        prefix = "济" + short
    return f"{prefix}发〔{year}〕{n}号"


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    names, weights = zip(*weighted, strict=True)
    return rng.choices(names, weights=weights)[0]
