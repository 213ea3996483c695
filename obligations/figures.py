"""The figures the dashboard and the compliance reports print, defined once.

Both read the same definitions, so for the same day and selection they print the same numbers:
the dashboard aggregates today's rows with `counts()`; a report classifies each row it rebuilds
(from history for a past day, see reports/asof.py) with `timeliness_case()` and tallies them.
Like the rules in obligations/models.py, the classification is written twice side by side: as
SQL (`timeliness_case`, for the dashboard's aggregates) and for the row in hand (`timeliness_of`,
for the report's rows, whose past state is already a dozen correlated subqueries: repeating them
inside a CASE would quadruple the query). tests/test_one_truth.py checks that the two agree.

The on-time rate (按期完成率), in words: of the obligations that have a due date and are either
handed in (submitted for verification, or verified) or overdue, the share handed in on or before
their due date. The clock stops when the work is handed in, not when the lead verifies it; an
obligation with no due date, or not handed in and not yet due, or ended (已废止: an amendment
repealed its duty), does not count either way.
"""

import datetime as dt

from django.db.models import Case, CharField, Count, F, Q, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.db.models.lookups import Exact, IsNull, LessThanOrEqual
from django.utils import timezone

from .models import LightWindow, Obligation, due_soon_q, is_overdue, open_q, overdue_q

Status = Obligation.Status

ON_TIME_RULE = (
    "按期完成率 = 按期提交核验的义务数 ÷（已提交核验且设有期限的义务数 + 逾期未提交的义务数）；"
    "以提交核验之日计（已核验的义务同样以其提交核验之日计），未设期限和尚未到期的未提交义务不计入，"
    "因法规修订已废止的义务不计入。"
)


# 义务总数 and 已废止: an obligation whose duty an amendment repealed is in no total of obligations
# (nor in the completion rate's denominator); it is shown beside the total ("另有已废止 N 项"). The
# dashboard, its API, every report and the regulation list count with `in_total_q` / `in_total`,
# so a total on one equals the same total on the others.
TOTAL_RULE = "义务总数不含因法规修订已废止的义务，已废止的义务另行列示。"


def in_total_q() -> Q:
    """The obligations counted in 义务总数, in SQL."""
    return ~Q(status__in=Obligation.ENDED_STATUSES)


def in_total(status: str) -> bool:
    """`in_total_q()` for one row in hand."""
    return status not in Obligation.ENDED_STATUSES


def repealed_note(repealed: int) -> str:
    """What every page and report prints beside the total when some obligations were repealed."""
    return f"另有已废止 {repealed} 项" if repealed else ""


class Timeliness:
    """How an obligation stands against its due date (按期情况)."""

    ON_TIME = "on_time"  # handed in on or before the due date
    LATE = "late"  # handed in after it
    OVERDUE = "overdue"  # not handed in, due date passed (the overdue rule)
    PENDING = "pending"  # not handed in and not yet due, or handed in at an unrecorded time
    NO_DUE = "no_due"  # no due date
    ENDED = "ended"  # 已废止: its duty was repealed; counted neither way


def handed_in_date():
    """The Asia/Shanghai day the work was handed in: its submission for verification; for a
    verified row without a recorded submission (verified before submissions were recorded),
    the verification."""
    return TruncDate(
        Case(
            When(status=Status.VERIFIED, then=Coalesce(F("submitted_at"), F("verified_at"))),
            When(~open_q(), then=F("submitted_at")),
            default=None,
        )
    )


def handed_in_day(status: str, submitted_at: dt.datetime | None, verified_at: dt.datetime | None) -> dt.date | None:
    """`handed_in_date()` for one row in hand."""
    if status == Status.VERIFIED:
        moment = submitted_at or verified_at
    elif status in Obligation.CLOSED_STATUSES:
        moment = submitted_at
    else:
        return None
    return timezone.localtime(moment).date() if moment else None


def timeliness_case(on: dt.date) -> Case:
    """`Timeliness` of each row as of `on`, in SQL."""
    handed = handed_in_date()
    return Case(
        When(status__in=Obligation.ENDED_STATUSES, then=Value(Timeliness.ENDED)),
        When(due_date__isnull=True, then=Value(Timeliness.NO_DUE)),
        When(
            ~open_q(),
            then=Case(
                When(IsNull(handed, True), then=Value(Timeliness.PENDING)),
                When(LessThanOrEqual(handed, F("due_date")), then=Value(Timeliness.ON_TIME)),
                default=Value(Timeliness.LATE),
            ),
        ),
        When(overdue_q(on), then=Value(Timeliness.OVERDUE)),
        default=Value(Timeliness.PENDING),
        output_field=CharField(),
    )


def timeliness_of(status: str, due: dt.date | None, handed: dt.date | None, on: dt.date) -> str:
    """`timeliness_case()` for one row in hand; `handed` from `handed_in_day()`."""
    if status in Obligation.ENDED_STATUSES:
        return Timeliness.ENDED
    if due is None:
        return Timeliness.NO_DUE
    if status in Obligation.CLOSED_STATUSES:
        if handed is None:
            return Timeliness.PENDING
        return Timeliness.ON_TIME if handed <= due else Timeliness.LATE
    return Timeliness.OVERDUE if is_overdue(status, due, on) else Timeliness.PENDING


def counts(window: LightWindow) -> dict:
    """Aggregates over today's rows: total (TOTAL_RULE), each state, overdue, due soon, on time, late.

    One COUNT ... FILTER each: any number of them is one pass over the rows, grouped or not.
    """
    timeliness = timeliness_case(window.on)
    return {
        "total": Count("id", filter=in_total_q()),
        **{str(state): Count("id", filter=Q(status=state)) for state in Status},
        "overdue": Count("id", filter=overdue_q(window.on)),
        "due_soon": Count("id", filter=due_soon_q(window)),
        "on_time": Count("id", filter=Exact(timeliness, Value(Timeliness.ON_TIME))),
        "late": Count("id", filter=Exact(timeliness, Value(Timeliness.LATE))),
    }


def rate(numerator: int, denominator: int) -> float | None:
    """A share rounded to four places (0.0223 = 2.2%); None when there is nothing to divide."""
    return None if not denominator else round(numerator / denominator, 4)


def on_time_rate(on_time: int, late: int, overdue: int) -> float | None:
    """ON_TIME_RULE: on time ÷ (handed in with a due date + overdue)."""
    return rate(on_time, on_time + late + overdue)


def format_rate(value: float | None) -> str:
    """How every page and report prints a rate: one decimal, "—" for none."""
    return "—" if value is None else f"{value * 100:.1f}%"


# The order bodies are listed in, on the dashboard's body table by default and in every report:
# most overdue first, then the registry's order. `rows` need "overdue", "sort_order" and "code".
BODY_ORDER_RULE = "责任单位按逾期未提交数从多到少排列，数量相同时按机构名录顺序"


def in_body_order(rows: list, *, overdue, sort_order, code) -> list:
    """Rows sorted as BODY_ORDER_RULE says; the three getters read each row's figures."""
    return sorted(rows, key=lambda r: (-(overdue(r) or 0), sort_order(r), code(r)))
