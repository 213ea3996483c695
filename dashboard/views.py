from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from obligations.models import yellow_working_days

from . import selectors
from .forms import DashboardFilterForm
from .selectors import DashboardFilters

PAGE_OVERDUE_ROWS = 50
PAGE_QUEUE_ROWS = 20

BODY_COLUMNS = [
    ("name", "责任单位"),
    ("assigned", "承担义务"),
    ("in_progress", "推进中"),
    ("submitted", "待核验"),
    ("verified", "已核验"),
    ("overdue", "逾期"),
    ("on_time_rate", "按期完成率"),
    ("idle", "距最近动态（天）"),
]


def grid_row_html(article: dict) -> SafeString:
    """The cells of one grid row, built here rather than in the template: a grid can hold
    articles x bodies = thousands of cells, and a template tag per cell costs seconds."""
    parts = []
    label = escape(article["label"])
    for cell in article["cells"]:
        if cell is None:
            parts.append('<td class="cell-empty"></td>')
            continue
        state = escape(cell["state_label"])
        warning = {"red": "，逾期", "yellow": "，临期"}.get(cell["light"], "")
        overdue = f" · 逾期 {cell['overdue']}" if cell["overdue"] else ""
        count = f"<sub>{cell['total']}</sub>" if cell["total"] > 1 else ""
        parts.append(
            f'<td class="cell cell-{escape(cell["state"])} ring-{escape(cell["light"])}"'
            f' title="{label} · {state}{overdue}">'
            f'{state[:1]}{count}<span class="sr-only">{state}{warning}</span></td>'
        )
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)


def filters_from(form: DashboardFilterForm) -> DashboardFilters:
    return form.to_filters() if form.is_valid() else DashboardFilters()


@login_required
def dashboard(request):
    """The lead's dashboard; staff get the same page limited to their own body."""
    form = DashboardFilterForm(request.GET)
    scope = selectors.dashboard_scope(user=request.user, filters=filters_from(form))
    sort = selectors.normalise_body_sort(request.GET.get("sort"))
    summary = selectors.dashboard_summary(scope=scope)
    bodies = selectors.dashboard_bodies(scope=scope, sort=sort)
    chapters = selectors.dashboard_chapters(scope=scope)
    grid = selectors.dashboard_grid(scope=scope)
    # The page shows the head of each list; the API pages through all of it (?limit=).
    overdue = selectors.dashboard_overdue(scope=scope, limit=PAGE_OVERDUE_ROWS)
    trend = selectors.dashboard_trend(scope=scope)
    queue = selectors.dashboard_queue(scope=scope, limit=PAGE_QUEUE_ROWS)
    charts = {
        "status": [
            {"key": "not_started", "name": "未启动", "value": summary["not_started"]},
            {"key": "in_progress", "name": "推进中", "value": summary["in_progress"]},
            {"key": "submitted", "name": "待核验", "value": summary["submitted"]},
            {"key": "verified", "name": "已核验", "value": summary["verified"]},
        ],
        "bodies": [
            {k: b[k] for k in ("name", "not_started", "in_progress", "submitted", "verified", "overdue")}
            for b in bodies
        ],
        "chapters": [
            {
                "name": f"{c['label']} {c['title']}".strip(),
                **{k: c[k] for k in ("not_started", "in_progress", "submitted", "verified", "overdue")},
            }
            for c in chapters
        ],
        "trend": [
            {k: w[k] for k in ("week", "completed", "newly_overdue", "open", "planned_open")} for w in trend["weeks"]
        ],
    }
    sort_key = sort.lstrip("-")
    columns = [
        {
            "key": key,
            "label": label,
            "active": key == sort_key,
            "descending": sort.startswith("-"),
            # Clicking the active column flips its direction; another column starts descending.
            "next": key if (key == sort_key and sort.startswith("-")) else f"-{key}",
        }
        for key, label in BODY_COLUMNS
    ]
    return render(
        request,
        "dashboard/dashboard.html",
        {
            "form": form,
            "scope": scope,
            "summary": summary,
            "bodies": bodies,
            "body_columns": columns,
            "sort": sort,
            "chapters": chapters,
            "grid": grid,
            "grid_rows": [(article, grid_row_html(article)) for article in grid["articles"]],
            "overdue": overdue,
            "trend": trend,
            "queue": queue,
            "charts": charts,
            "yellow_days": yellow_working_days(),
        },
    )
