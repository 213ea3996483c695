"""Every number on the lead's dashboard, computed by the database.

Each selector is a fixed number of aggregate queries (COUNT ... FILTER, GROUP BY, correlated
subqueries for the latest progress and reminder, GROUP BY week for the trend), whatever the
number of obligations: Python only reshapes the aggregated rows (one per body,
chapter, grid cell or week) and looks up their names, never the obligations themselves.

"Today" is `core.clock.today()` (Asia/Shanghai) and is passed to the database as a
parameter, never taken from CURRENT_DATE, so frozen time in tests and the server's clock agree.
The rules (overdue, the light) and the figures (counts, the on-time rate) are not written here:
they are `obligations.models` and `obligations.figures`, which the compliance reports read too.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import TruncWeek
from django.utils import timezone

from accounts.models import Department
from core.queries import driver_rows, rows_once_built
from notifications.models import Reminder
from obligations import figures
from obligations.figures import ON_TIME_RULE, rate
from obligations.models import (
    ExtensionRequest,
    LightWindow,
    Objection,
    Obligation,
    ProgressEntry,
    due_soon_q,
    light_case,
    obligation_url,
    open_q,
    overdue_q,
)
from regulations.models import Chapter, Regulation, cite

Status = Obligation.Status
# Least advanced first: a grid cell shows the least advanced state among its obligations.
STATUS_ORDER = [Status.NOT_STARTED, Status.IN_PROGRESS, Status.SUBMITTED, Status.VERIFIED]
STATUS_LABELS = dict(Status.choices)
DUE_SOON_DAYS = 30
DEFAULT_LIST_LIMIT = 100
MAX_LIST_LIMIT = 500
MAX_OFFSET = 2**31 - 1  # past any row; a larger one overflows PostgreSQL's OFFSET (bigint)


# --- Scope: who looks, with which filters -------------------------------------------------------


@dataclass(frozen=True)
class DashboardFilters:
    regulation: Regulation | None = None
    level: str = ""
    department: Department | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass(frozen=True)
class DashboardScope:
    """The obligations a dashboard request is about, and the window its lights are measured in."""

    obligations: QuerySet
    window: LightWindow
    filters: DashboardFilters
    own_body_only: bool

    @property
    def on(self) -> dt.date:
        return self.window.on

    @property
    def yellow_until(self) -> dt.date:
        return self.window.yellow_until


def dashboard_scope(*, user, filters: DashboardFilters | None = None, on: dt.date | None = None) -> DashboardScope:
    """The base queryset: what the user may see, restricted by the filters.

    Lead, auditors and admins see every body (`visible_to` returns everything for them); staff
    see the same dashboard limited to their own body. For staff `visible_to` would add the
    bodies they cooperate with through a join and DISTINCT, which would double-count in every
    GROUP BY below; restricted to their own body it is exactly `department = own body`.
    """
    filters = filters or DashboardFilters()
    if user.is_authenticated and user.sees_everything:
        qs = Obligation.objects.all()
    else:
        qs = Obligation.objects.filter(department__in=user.visible_bodies())
    qs = qs.active()
    if filters.regulation is not None:
        qs = qs.filter(clause__regulation=filters.regulation)
    if filters.level:
        qs = qs.filter(department__level=filters.level)
    if filters.department is not None:
        qs = qs.filter(department=filters.department)
    if filters.date_from is not None:
        qs = qs.filter(due_date__gte=filters.date_from)
    if filters.date_to is not None:
        qs = qs.filter(due_date__lte=filters.date_to)
    return DashboardScope(
        obligations=qs.order_by(),
        window=LightWindow.for_day(on),
        filters=filters,
        own_body_only=not (user.is_authenticated and user.sees_everything),
    )


# --- Shared expressions -------------------------------------------------------------------------


def _overdue(scope: DashboardScope) -> Q:
    return overdue_q(scope.on)


def _due_soon(scope: DashboardScope) -> Q:
    return due_soon_q(scope.window)


def light_expression(scope: DashboardScope) -> Case:
    """督查督办 亮灯 in SQL (obligations.models.light_case): the same light as every other page."""
    return light_case(scope.window)


def _status_rank() -> Case:
    return Case(
        *[When(status=status, then=Value(rank)) for rank, status in enumerate(STATUS_ORDER)],
        default=Value(len(STATUS_ORDER) - 1),
        output_field=IntegerField(),
    )


def _built_key(scope: DashboardScope, name: str) -> tuple:
    """What an aggregate's SQL depends on besides the scope's own query (core.queries.rows_once_built)."""
    return (name, scope.on, scope.yellow_until)


def _dicts(names: list[str], rows: list[tuple]) -> list[dict]:
    return [dict(zip(names, row, strict=True)) for row in rows]


def _counts(scope: DashboardScope) -> dict:
    """The counters every table shares (obligations.figures.counts): one pass over the rows."""
    return figures.counts(scope.window)


def _state_counts(scope: DashboardScope) -> dict:
    """`_counts` without the on-time figures, for a table that does not show them (the chapters):
    their CASE is most of the aggregate's cost."""
    return {key: value for key, value in _counts(scope).items() if key not in ("on_time", "late")}


def _figures(row: dict) -> dict:
    """The figures of one aggregated row, named as the dashboard's API names them."""
    return {
        "assigned": row["total"],
        "not_started": row[Status.NOT_STARTED],
        "in_progress": row[Status.IN_PROGRESS],
        "submitted": row[Status.SUBMITTED],
        "verified": row[Status.VERIFIED],
        "repealed": row[Status.REPEALED],  # 已废止 by an amendment: outside the total, never overdue
        "overdue": row["overdue"],
        "due_soon": row["due_soon"],
        "on_time": row["on_time"],
        "late": row["late"],
        "on_time_rate": figures.on_time_rate(row["on_time"], row["late"], row["overdue"]),
        "completion_rate": rate(row[Status.VERIFIED], row["total"]),
    }


def worst_light(overdue: int, due_soon: int) -> str:
    """The worst light among counted obligations: red if any is overdue, yellow if any is due soon."""
    return "red" if overdue else "yellow" if due_soon else "green"


def _light_of_counts(row: dict) -> str:
    return worst_light(row["overdue"], row["due_soon"])


# --- Headline figures ---------------------------------------------------------------------------


def dashboard_summary(*, scope: DashboardScope) -> dict:
    """One query: obligations in each state, completion and on-time rates, overdue, due soon."""
    names, rows = rows_once_built(
        _built_key(scope, "summary"),
        scope.obligations,
        lambda base: base.annotate(_all=Value(1))
        .values("_all")
        .annotate(
            **_counts(scope),
            due_within_30_days=Count(
                "id",
                filter=Q(due_date__gte=scope.on, due_date__lte=scope.on + dt.timedelta(days=DUE_SOON_DAYS)) & open_q(),
            ),
        ),
    )
    # No row only for a scope that can match nothing (core.queries.rows_once_built): all zero.
    row = dict(zip(names, rows[0], strict=True)) if rows else dict.fromkeys(names, 0)
    counted = _figures(row)
    return {
        "on": scope.on,
        "yellow_until": scope.yellow_until,
        "total": counted.pop("assigned"),
        **counted,
        "due_within_30_days": row["due_within_30_days"],
        "on_time_rule": ON_TIME_RULE,
        "awaiting_verification": row[Status.SUBMITTED],
    }


# --- By body ------------------------------------------------------------------------------------

# Sortable columns of the body table: GET ?sort=<key> or ?sort=-<key>.
BODY_SORTS = ["name", "assigned", "in_progress", "submitted", "verified", "overdue", "on_time_rate", "idle"]
# Every accepted value of ?sort=: a column, ascending or (prefixed with -) descending.
BODY_SORT_CHOICES = [prefix + key for key in BODY_SORTS for prefix in ("", "-")]
DEFAULT_BODY_SORT = "-overdue"


def normalise_body_sort(sort: str | None) -> str:
    key = (sort or "").lstrip("-")
    return sort if key in BODY_SORTS else DEFAULT_BODY_SORT


def _sort_bodies(rows: list[dict], sort: str) -> list[dict]:
    """Order the (few hundred at most) aggregated body rows; rows without a value go last."""
    key = sort.lstrip("-")
    descending = sort.startswith("-")
    if key == "name":
        return sorted(rows, key=lambda r: (r["sort_order"], r["code"]), reverse=descending)
    value_key = "days_since_activity" if key == "idle" else key
    if key == "idle":
        # Never active counts as the most idle of all.
        def value(r):
            return float("inf") if r["days_since_activity"] is None else r["days_since_activity"]
    else:

        def value(r):
            return r[value_key]

    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    present.sort(key=lambda r: (r["sort_order"], r["code"]))
    present.sort(key=value, reverse=descending)
    return present + sorted(missing, key=lambda r: (r["sort_order"], r["code"]))


DEPARTMENT_INFO = ("id", "code", "short_name", "name", "level", "sort_order")


def _department_info(ids) -> dict[int, dict]:
    """Names of the bodies with these ids, read as the driver returns them (text and integers):
    hundreds of rows, each through Django's per-value converters, cost more than the query."""
    rows = driver_rows(Department.objects.filter(id__in=set(ids)).values_list(*DEPARTMENT_INFO))
    return {row[0]: dict(zip(DEPARTMENT_INFO, row, strict=True)) for row in rows}


def dashboard_bodies(*, scope: DashboardScope, sort: str | None = None) -> list[dict]:
    """The body table, sortable on any column.

    Two queries: the counts grouped by the bare department_id (a hash aggregate over the
    obligations; grouping by the joined names as well makes PostgreSQL sort every row first),
    then the names of those bodies.
    """
    sort = normalise_body_sort(sort)
    rows = _dicts(
        *rows_once_built(
            _built_key(scope, "bodies"),
            scope.obligations,
            lambda base: base.values("department_id")
            .annotate(**_counts(scope), last_activity_at=Max("last_activity_at"))
            .order_by(),
        )
    )
    info = _department_info(r["department_id"] for r in rows)
    level_labels = dict(Department.Level.choices)
    tz = timezone.get_current_timezone()
    result = []
    for row in rows:
        body = info[row["department_id"]]
        last = row["last_activity_at"]
        result.append(
            {
                "code": body["code"],
                "name": body["short_name"],
                "full_name": body["name"],
                "level": body["level"],
                "level_label": level_labels.get(body["level"], body["level"]),
                "sort_order": body["sort_order"],
                **_figures(row),
                "last_activity_at": last,
                "days_since_activity": None if last is None else (scope.on - _local_date(last, tz)).days,
                "light": _light_of_counts(row),
                "tasks_url": f"/tasks/?department={body['code']}",
            }
        )
    return _sort_bodies(result, sort)


def _local_date(value: dt.datetime, tz=None) -> dt.date:
    """The day of a moment in Asia/Shanghai (`timezone.localtime`); `tz` read once by a caller
    with hundreds of rows (the current time zone is a thread-local look-up per call)."""
    return value.astimezone(tz or timezone.get_current_timezone()).date()


# --- By chapter and article ---------------------------------------------------------------------


def dashboard_chapters(*, scope: DashboardScope) -> list[dict]:
    """Progress of each chapter: counts grouped by chapter id, then the chapters' names."""
    rows = _dicts(
        *rows_once_built(
            _built_key(scope, "chapters"),
            scope.obligations,
            lambda base: base.values(chapter_id=F("clause__article__chapter_id"))
            .annotate(**_state_counts(scope))
            .order_by(),
        )
    )
    chapters = {
        c["id"]: c
        for c in Chapter.objects.filter(id__in={r["chapter_id"] for r in rows if r["chapter_id"]}).values(
            "id", "regulation_id", "number", "label", "title"
        )
    }
    none = {"regulation_id": 0, "number": 10**6, "label": "未分章", "title": ""}
    rows.sort(
        key=lambda r: (
            chapters.get(r["chapter_id"], none)["regulation_id"],
            chapters.get(r["chapter_id"], none)["number"],
        )
    )
    result = []
    for row in rows:
        chapter = chapters.get(row["chapter_id"], none)
        result.append(
            {
                "number": chapter["number"] if row["chapter_id"] else None,
                "label": chapter["label"],
                "title": chapter["title"],
                "assigned": row["total"],
                **{str(state): row[state] for state in Status},
                "overdue": row["overdue"],
                "due_soon": row["due_soon"],
                "completion_rate": rate(row[Status.VERIFIED], row["total"]),
                "light": _light_of_counts(row),
            }
        )
    return result


def grid_regulation(scope: DashboardScope) -> Regulation | None:
    """The regulation the grid shows: the one chosen in the filters, else the most recently
    effective regulation with obligations in scope. One regulation at a time: its articles are
    the rows, and several regulations side by side would be thousands of rows nobody reads."""
    if scope.filters.regulation is not None:
        return scope.filters.regulation
    in_scope = Exists(scope.obligations.filter(clause__regulation=OuterRef("pk")))
    return (
        Regulation.objects.filter(in_scope)
        .order_by(F("effective_date").desc(nulls_last=True), "-id")
        .only("id", "code", "title")
        .first()
    )


@dataclass(frozen=True)
class GridCells:
    """A regulation's grid as the database returns it, before any per-cell dict is built.

    `columns`: the bodies in registry order, as (code, short name); `articles`: (article id,
    number, label, chapter number) in the regulation's order; `cells`: (article id, column
    index, total, overdue, due soon, least advanced state's rank in STATUS_ORDER), in the
    articles' order, every article with at least one cell. The page
    writes its HTML straight from these tuples, the API its JSON (`dashboard_grid`).
    """

    regulation: Regulation | None
    columns: list[tuple[str, str]]
    articles: list[tuple[int, int, str, int | None]]
    cells: list[tuple[int, int, int, int, int, int]]


def grid_cells(*, scope: DashboardScope) -> GridCells:
    """The cells of `grid_regulation`'s grid: two queries (the regulation when none is chosen,
    then the cells grouped by (article, body) with the articles' and bodies' names joined).
    The cells come in the articles' order, so that a page writes each row in one pass."""
    regulation = grid_regulation(scope)
    if regulation is None:
        return GridCells(None, [], [], [])
    # The scope already holds the chosen regulation; a second equal condition only costs planning.
    base = (
        scope.obligations
        if scope.filters.regulation is not None
        else scope.obligations.filter(clause__regulation=regulation)
    )
    # Tuples read as the driver returns them, not dicts through Django's per-value converters
    # (int() of an int, four per row): a regulation's grid at province scale is thousands of
    # cells, and per-row Python is most of this request.
    _names, rows = rows_once_built(
        _built_key(scope, "grid"),
        base,
        lambda base: base.values_list(
            "clause__article_id",
            "department_id",
            "department__sort_order",
            "department__code",
            "department__short_name",
            "clause__article__number",
            "clause__article__label",
            "clause__article__chapter__number",
        )
        .annotate(
            total=Count("id"),
            overdue=Count("id", filter=_overdue(scope)),
            due_soon=Count("id", filter=_due_soon(scope)),
            least=Min(_status_rank()),
        )
        .order_by("clause__article__number", "clause__article_id"),
    )
    bodies = {row[1]: (row[2], row[3], row[4]) for row in rows}
    order = sorted(bodies, key=lambda department_id: bodies[department_id][:2])
    position = {department_id: i for i, department_id in enumerate(order)}
    # One regulation's articles, in its order (the rows' order).
    articles = []
    for row in rows:
        if not articles or articles[-1][0] != row[0]:
            articles.append((row[0], row[5], row[6], row[7]))
    return GridCells(
        regulation,
        [bodies[department_id][1:] for department_id in order],
        articles,
        [(row[0], position[row[1]], *row[8:]) for row in rows],
    )


def dashboard_grid(*, scope: DashboardScope) -> dict:
    """A grid of articles x bodies for one regulation (`grid_regulation`), as the API returns it.

    A cell holds the least advanced state among that body's obligations under that article
    (a body can have several clauses in one article) and the worst light.
    """
    grid = grid_cells(scope=scope)
    if grid.regulation is None:
        return {"regulation": None, "bodies": [], "articles": []}
    states = [(str(state), STATUS_LABELS[state]) for state in STATUS_ORDER]
    width = len(grid.columns)
    by_article: dict[int, list] = {article[0]: [None] * width for article in grid.articles}
    for article_id, column, total, overdue, due_soon, least in grid.cells:
        state, label = states[least]
        by_article[article_id][column] = {
            "code": grid.columns[column][0],
            "state": state,
            "state_label": label,
            "light": worst_light(overdue, due_soon),
            "total": total,
            "overdue": overdue,
        }
    return {
        "regulation": {"code": grid.regulation.code, "title": grid.regulation.title},
        "bodies": [{"code": code, "name": name} for code, name in grid.columns],
        "articles": [
            {"number": number, "label": label, "chapter": chapter, "cells": by_article[article_id]}
            for article_id, number, label, chapter in grid.articles
        ],
    }


# --- Lists: overdue and the verification queue -------------------------------------------------


def clamp_offset(value) -> int:
    try:
        return max(0, min(int(value), MAX_OFFSET))
    except (TypeError, ValueError):
        return 0


def clamp_limit(value, default: int = DEFAULT_LIST_LIMIT) -> int:
    try:
        limit = int(value)
    except (TypeError, ValueError):
        return default
    return max(1, min(limit, MAX_LIST_LIMIT))


# The columns a list row reads, as values: model instances (select_related over three tables,
# then a property walk for the citation) cost more than the page query itself.
ROW_FIELDS = (
    "id",
    "clause__article__label",
    "clause__article__number",
    "clause__paragraph_number",
    "clause__regulation__title",
    "clause__text",
    "department__code",
    "department__short_name",
    "status",
    "due_date",
    "version",
)


def _row_basics(row: dict) -> dict:
    """One list row from its values (`ROW_FIELDS` and the `light` annotation)."""
    return {
        "id": row["id"],
        "citation": cite(
            row["clause__article__label"], row["clause__paragraph_number"], row["clause__regulation__title"]
        ),
        "article": row["clause__article__number"],
        "text": row["clause__text"],
        "department_code": row["department__code"],
        "department_name": row["department__short_name"],
        "status": row["status"],
        "status_label": STATUS_LABELS.get(row["status"], row["status"]),
        "due_date": row["due_date"],
        "light": row["light"],
        "version": row["version"],
        "url": obligation_url(row["id"]),
    }


def dashboard_overdue(*, scope: DashboardScope, limit: int = DEFAULT_LIST_LIMIT, offset: int = 0) -> dict:
    """Overdue obligations, most days overdue first, each with its latest progress entry and
    the last reminder sent about it.

    Two queries: the count, and one page of rows with the latest progress and reminder fetched
    by correlated subqueries on the (obligation, -created_at) and reminder obligation indexes.
    """
    overdue = scope.obligations.filter(_overdue(scope))
    latest = ProgressEntry.objects.filter(obligation=OuterRef("pk")).order_by("-created_at", "-id")
    # Reminders and escalations about this obligation, to anyone, that went out.
    reminded = Reminder.objects.filter(
        obligation=OuterRef("pk"), status=Reminder.Status.SENT, sent_at__isnull=False
    ).order_by("-sent_at")
    rows = (
        overdue.annotate(
            light=light_expression(scope),
            last_progress_text=Subquery(latest.values("text")[:1]),
            last_progress_at=Subquery(latest.values("created_at")[:1]),
            last_reminder_at=Subquery(reminded.values("sent_at")[:1]),
        )
        .order_by("due_date", "department__sort_order", "id")
        .values(*ROW_FIELDS, "light", "last_progress_text", "last_progress_at", "last_reminder_at")[
            offset : offset + limit
        ]
    )
    results = []
    for values in rows:
        row = _row_basics(values)
        row.update(
            days_overdue=(scope.on - values["due_date"]).days,
            last_progress_text=values["last_progress_text"],
            last_progress_at=values["last_progress_at"],
            last_reminder_at=values["last_reminder_at"],
        )
        results.append(row)
    return {"count": overdue.count(), "limit": limit, "offset": offset, "results": results}


def _queue_page(submitted: QuerySet, *, limit: int, offset: int, undated_count: int | None = None) -> list[int]:
    """The ids of one page of the queue in its order (submitted_at ascending, undated first, then id).

    Taken in two index walks rather than one sort: ORDER BY submitted_at NULLS FIRST cannot walk
    the queue's index (obl_submitted_queue, ascending with NULLs last), so PostgreSQL would read
    and sort every submission (20,000 at province scale) for a page of 20. The undated ones (none
    are written by the workflow; imported history may hold some) are counted and paged on their
    own, then the dated ones follow in index order. `undated_count`: their number, when the
    caller has counted them.
    """
    undated = submitted.filter(submitted_at__isnull=True)
    if undated_count is None:
        undated_count = undated.count()
    ids = (
        list(undated.order_by("id").values_list("id", flat=True)[offset : offset + limit])
        if offset < undated_count
        else []
    )
    if len(ids) < limit:
        start = max(0, offset - undated_count)
        dated = submitted.filter(submitted_at__isnull=False).order_by("submitted_at", "id")
        ids += list(dated.values_list("id", flat=True)[start : start + limit - len(ids)])
    return ids


def dashboard_queue(
    *, scope: DashboardScope, limit: int = DEFAULT_LIST_LIMIT, offset: int = 0, count: int | None = None
) -> dict:
    """Submissions awaiting the lead's verification, oldest submission first.

    `count`: the number awaiting verification when the caller already has it (the headline
    figures' `submitted`), so a page showing both does not count them twice.
    """
    submitted = scope.obligations.filter(status=Status.SUBMITTED)
    undated_count = None
    if count is None:  # all of them and the undated ones in one pass
        counted = submitted.aggregate(submitted=Count("id"), undated=Count("id", filter=Q(submitted_at__isnull=True)))
        count, undated_count = counted["submitted"], counted["undated"]
    page = _queue_page(submitted, limit=limit, offset=offset, undated_count=undated_count)
    return {"count": count, "limit": limit, "offset": offset, "results": _queue_rows(submitted, page, scope)}


def _queue_rows(submitted: QuerySet, page: list[int], scope: DashboardScope) -> list[dict]:
    """The queue's rows for these ids, in their order: one query, whatever the page's order."""
    rows = {
        row["id"]: row
        # An empty page still makes its (empty) query: a fixed number of queries whatever the data.
        for row in submitted.filter(id__in=page or [0])
        .annotate(light=light_expression(scope))
        .values(*ROW_FIELDS, "light", "submitted_at", "submitted_by__full_name", "submitted_by__username")
    }
    results = []
    for values in (rows[i] for i in page if i in rows):
        row = _row_basics(values)
        submitted_at = values["submitted_at"]
        row.update(
            submitted_at=submitted_at,
            # User.display_name: the full name, else the username.
            submitted_by=values["submitted_by__full_name"] or values["submitted_by__username"] or "",
            days_waiting=None if submitted_at is None else (scope.on - _local_date(submitted_at)).days,
        )
        results.append(row)
    return results


# The queue's own page (/dashboard/queue/) sorts on these: ?sort=<key> or ?sort=-<key> (descending).
# Each key's columns, then the oldest submission first and the id as ties.
QUEUE_SORTS = {
    "submitted": ("submitted_at",),
    "due": ("due_date",),
    "body": ("department__sort_order", "department__code"),
    "citation": (
        "clause__regulation",
        "clause__article__number",
        "clause__paragraph_number",
        "clause__ordinal",
        "department__sort_order",
    ),
}
DEFAULT_QUEUE_SORT = "submitted"


def normalise_queue_sort(sort: str | None) -> str:
    key = (sort or "").lstrip("-")
    return sort if key in QUEUE_SORTS and sort.count("-") <= 1 else DEFAULT_QUEUE_SORT


def dashboard_queue_sorted(
    *, scope: DashboardScope, sort: str | None = None, limit: int = DEFAULT_LIST_LIMIT, offset: int = 0
) -> dict:
    """One page of the verification queue in the order asked for (`QUEUE_SORTS`).

    The default order, oldest submission first, is `dashboard_queue` itself (it walks the queue's
    index). Another order: the count, one page of ids sorted by the database, then their rows.
    A missing submission time or due date sorts last either way.
    """
    sort = normalise_queue_sort(sort)
    if sort == DEFAULT_QUEUE_SORT:
        return {**dashboard_queue(scope=scope, limit=limit, offset=offset), "sort": sort}
    key, descending = sort.lstrip("-"), sort.startswith("-")
    order = [
        F(column).desc(nulls_last=True) if descending else F(column).asc(nulls_last=True) for column in QUEUE_SORTS[key]
    ]
    submitted = scope.obligations.filter(status=Status.SUBMITTED)
    page = list(
        submitted.order_by(*order, F("submitted_at").asc(nulls_first=True), "id").values_list("id", flat=True)[
            offset : offset + limit
        ]
    )
    return {
        "count": submitted.count(),
        "limit": limit,
        "offset": offset,
        "results": _queue_rows(submitted, page, scope),
        "sort": sort,
    }


def dashboard_red_bodies(*, scope: DashboardScope, limit: int = DEFAULT_LIST_LIMIT) -> dict:
    """The bodies whose light is red (any obligation overdue): most overdue obligations first, then
    the longest overdue.

    Two queries: the overdue obligations grouped by body (only the overdue rows are read, not the
    whole scope as the body table does), then those bodies' names.
    """
    rows = list(
        scope.obligations.filter(_overdue(scope))
        .values("department_id")
        .annotate(overdue=Count("id"), oldest_due=Min("due_date"))
        .order_by()
    )
    info = _department_info(r["department_id"] for r in rows)
    result = [
        {
            "code": info[r["department_id"]]["code"],
            "name": info[r["department_id"]]["short_name"],
            "full_name": info[r["department_id"]]["name"],
            "sort_order": info[r["department_id"]]["sort_order"],
            "overdue": r["overdue"],
            "days_overdue": (scope.on - r["oldest_due"]).days,
            "light": worst_light(r["overdue"], 0),
            "tasks_url": f"/tasks/?department={info[r['department_id']]['code']}&overdue=1",
        }
        for r in rows
    ]
    result.sort(key=lambda b: (-b["overdue"], -b["days_overdue"], b["sort_order"], b["code"]))
    return {"count": len(result), "results": result[:limit]}


def _pending(queryset: QuerySet, scope: DashboardScope) -> QuerySet:
    """Pending requests about the obligations in scope (the scope's filters and visibility)."""
    return queryset.filter(obligation__in=scope.obligations.values("id"))


def _page_of(pending: QuerySet, results: list[dict], limit: int, offset: int = 0) -> dict:
    """A page of pending requests with their total: counted only when the page is full or not
    the first (a short first page is the whole list)."""
    whole = len(results) < limit and not offset
    return {"count": len(results) if whole else pending.count(), "limit": limit, "offset": offset, "results": results}


def dashboard_pending_objections(*, scope: DashboardScope, limit: int = DEFAULT_LIST_LIMIT, offset: int = 0) -> dict:
    """分工异议 awaiting the lead's decision, oldest first. Two queries: the count and one page."""
    pending = _pending(Objection.objects.filter(status=Objection.Status.PENDING), scope)
    rows = pending.select_related(
        "obligation__clause__article",
        "obligation__clause__regulation",
        "obligation__department",
        "department",
        "suggested_department",
        "raised_by",
    ).order_by("raised_at", "id")[offset : offset + limit]
    results = [
        {
            "id": o.id,
            "obligation_id": o.obligation_id,
            "citation": o.obligation.clause.citation,
            "department_name": o.department.short_name,
            "suggested": o.suggested_department.short_name if o.suggested_department else "",
            "raised_by": o.raised_by.display_name,
            "raised_at": o.raised_at,
            "reason": o.reason,
            "days_waiting": (scope.on - _local_date(o.raised_at)).days,
            "url": obligation_url(o.obligation_id),
        }
        for o in rows
    ]
    return _page_of(pending, results, limit, offset)


def dashboard_pending_extensions(*, scope: DashboardScope, limit: int = DEFAULT_LIST_LIMIT, offset: int = 0) -> dict:
    """延期申请 awaiting approval, oldest first. Two queries: the count and one page."""
    pending = _pending(ExtensionRequest.objects.filter(status=ExtensionRequest.Status.PENDING), scope)
    rows = pending.select_related(
        "obligation__clause__article", "obligation__clause__regulation", "obligation__department", "requested_by"
    ).order_by("requested_at", "id")[offset : offset + limit]
    results = [
        {
            "id": e.id,
            "obligation_id": e.obligation_id,
            "citation": e.obligation.clause.citation,
            "department_name": e.obligation.department.short_name,
            "due_date": e.obligation.due_date,
            "requested_date": e.requested_date,
            "requested_by": e.requested_by.display_name,
            "requested_at": e.requested_at,
            "reason": e.reason,
            "days_waiting": (scope.on - _local_date(e.requested_at)).days,
            "url": obligation_url(e.obligation_id),
        }
        for e in rows
    ]
    return _page_of(pending, results, limit, offset)


# --- Trend --------------------------------------------------------------------------------------


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _as_date(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return _local_date(value) if value.tzinfo else value.date()
    return value


def trend_start(scope: DashboardScope, *series: dict) -> dt.date:
    """Where the trend starts: the chosen 完成期限自 date, else the week of the earliest data
    (the first due date, completion or missed date in scope), never after today. A regulation
    in force for years before its first obligation is no reason for a year of empty weeks."""
    if scope.filters.date_from is not None:
        return scope.filters.date_from
    weeks = [week for by_week in series for week in by_week if week is not None]
    return min([*weeks, scope.on])


def _count_by_week(queryset: QuerySet, field: str) -> dict[dt.date | None, int]:
    """One GROUP BY: how many rows fall in each week (Monday) of `field`; None for no date."""
    rows = queryset.annotate(week=TruncWeek(field)).values("week").annotate(n=Count("id")).order_by()
    return {_as_date(row["week"]): row["n"] for row in rows}


def dashboard_trend(*, scope: DashboardScope) -> dict:
    """Weekly completions, newly overdue obligations and a burn-down, from where the data starts.

    Three GROUP BY week queries (the start is read from their weeks, `trend_start`):
    - completed: verified obligations by the week of verified_at;
    - due: obligations by the week of their due date;
    - newly overdue: obligations by the week of the due date they missed — the date kept on the
      row once the miss was ended by a write, or the current date of one still overdue
      (`ObligationQuerySet.with_missed_due_date`);
    - burn-down: open (not yet verified) obligations at the end of each week against the plan,
      i.e. the obligations whose due date has not yet come (a perfect body closes each on its date).
    """
    completed_by_week = _count_by_week(
        scope.obligations.filter(status=Status.VERIFIED, verified_at__isnull=False), "verified_at"
    )
    # A repealed obligation is no longer to be done: out of the burn-down (figures.TOTAL_RULE).
    due_by_week = _count_by_week(scope.obligations.filter(figures.in_total_q()), "due_date")
    missed_by_week = _count_by_week(
        scope.obligations.with_missed_due_date(scope.on).filter(missed__isnull=False), "missed"
    )
    start = _monday(trend_start(scope, completed_by_week, due_by_week, missed_by_week))
    end_day = min(scope.filters.date_to, scope.on) if scope.filters.date_to else scope.on
    end = _monday(max(end_day, start))

    total = sum(due_by_week.values())
    verified_cum = sum(n for week, n in completed_by_week.items() if week < start)
    due_cum = sum(n for week, n in due_by_week.items() if week is not None and week < start)
    weeks = []
    week = start
    while week <= end:
        completed = completed_by_week.get(week, 0)
        due = due_by_week.get(week, 0)
        verified_cum += completed
        due_cum += due
        weeks.append(
            {
                "week": week,
                "week_end": week + dt.timedelta(days=6),
                "completed": completed,
                "due": due,
                "newly_overdue": missed_by_week.get(week, 0),
                "open": total - verified_cum,
                "planned_open": total - due_cum,
            }
        )
        week += dt.timedelta(days=7)
    return {"start": start, "end": end + dt.timedelta(days=6), "total": total, "weeks": weeks}
