"""The lead's dashboard, rendered on the server.

The first screen answers "what needs me now" and fits above the fold at 1366x768: the headline
figures, then four waiting lists side by side, each its oldest or worst few and the way to the
whole list: the verification queue (`/dashboard/queue/`), the bodies in red (the bodies tab),
pending objections (`/dashboard/objections/`) and extension requests (`/dashboard/extensions/`).
Everything else is a section one click away (`?tab=<name>` for a full page,
`/dashboard/section/<name>/` for the fragment htmx swaps in). Each section is computed only when
it is shown, and each aggregate once per request. Every page keeps the filters in force.

The queue page's 核验通过 / 退回 post to `queue_action`, which calls the workflow service; for htmx
it answers with the queue page's list (same filters, sort and page) and the `dashboard-changed`
event, on which any dashboard section on the page re-fetches itself.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render

from core import errors
from obligations import services
from obligations.models import Obligation, yellow_working_days

from . import fragments, selectors
from .forms import DashboardFilterForm
from .selectors import DashboardFilters

PAGE_OVERDUE_ROWS = 50
PAGE_QUEUE_ROWS = 20  # a page of the queue, the objections, the extension requests
FIRST_SCREEN_ROWS = 5  # each waiting list on the first screen: all four fit above the fold at 1366x768
CHANGED_EVENT = "dashboard-changed"
QUEUE_ACTIONS = {"verify": "已核验通过。", "return": "已退回。"}

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

# The sections one click away: name -> tab label, in the order of the tabs.
TABS = {
    "bodies": "按责任单位",
    "chapters": "按章进展",
    "grid": "条文 × 责任单位",
    "overdue": "逾期清单",
    "trend": "趋势",
    "status": "状态分布",
}
# The whole lists behind the first screen's waiting sections, each a page: /dashboard/<name>/.
LIST_PAGES = ("dashboard", "queue", "objections", "extensions")
FILTER_KEYS = frozenset(DashboardFilterForm.base_fields)
# The queue page's sortable columns: key (selectors.QUEUE_SORTS) -> column head.
QUEUE_COLUMNS = [("citation", "条款"), ("body", "责任单位"), ("due", "完成期限"), ("submitted", "提交时间")]
# The parts of the first screen, each also a fragment of its own (refreshed after an action).
FIRST_SCREEN = ("headline", "queue", "red", "objections", "extensions")
STATES = [
    ("not_started", "未启动"),
    ("in_progress", "推进中"),
    ("submitted", "待核验"),
    ("verified", "已核验"),
]
# 已废止 (an amendment deleted the clause): on the status chart and table only where there are any.
REPEALED = ("repealed", "已废止")


def states_of(summary: dict) -> list[tuple[str, str]]:
    """The states the status section shows: the four, and 已废止 when the summary counts any
    (the same figure as the dashboard API's `repealed`)."""
    return [*STATES, REPEALED] if summary["repealed"] else STATES


def filters_from(form: DashboardFilterForm) -> DashboardFilters:
    return form.to_filters() if form.is_valid() else DashboardFilters()


# --- Sections -----------------------------------------------------------------------------------


def any_repealed(rows: list[dict]) -> bool:
    """Whether a table or stacked chart shows 已废止: only where there are any."""
    return any(r["repealed"] for r in rows)


def _stacked(rows: list[dict], name) -> list[dict]:
    """A stacked chart's bars: the four states, and 已废止 as its own series where there are any."""
    states = [*STATES, REPEALED] if any_repealed(rows) else STATES
    return [{"name": name(r), **{k: r[k] for k, _ in states}, "overdue": r["overdue"]} for r in rows]


def _body_columns(sort: str, link) -> list[dict]:
    sort_key = sort.lstrip("-")
    columns = []
    for key, label in BODY_COLUMNS:
        # Clicking the active column flips its direction; another column starts descending.
        following = key if (key == sort_key and sort.startswith("-")) else f"-{key}"
        columns.append(
            {
                "key": key,
                "label": label,
                "active": key == sort_key,
                "descending": sort.startswith("-"),
                **link("bodies", sort=following),
            }
        )
    return columns


def section_context(name: str, scope, request, link, summary: dict | None = None) -> dict:
    """The context of one section, with its chart's numbers as JSON for the chart's data-values
    attribute (no <script> blocks in fragments: htmx is configured to drop them)."""
    context = _section_context(name, scope, request, link, summary)
    if "chart_data" in context:
        context["chart_json"] = fragments.chart_json(context.pop("chart_data"))
    return context


def _section_context(name: str, scope, request, link, summary: dict | None) -> dict:
    """Compute only what the section shows (the headline figures are passed in when the page
    already has them)."""
    if name == "status":
        summary = summary or selectors.dashboard_summary(scope=scope)
        # The table and the chart show the same rows.
        states = [{"key": k, "name": label, "value": summary[k]} for k, label in states_of(summary)]
        return {"summary": summary, "states": states, "chart_data": states}
    if name == "bodies":
        sort = selectors.normalise_body_sort(request.GET.get("sort"))
        bodies = selectors.dashboard_bodies(scope=scope, sort=sort)
        repealed = any_repealed(bodies)
        return {
            "bodies": bodies,
            "show_repealed": repealed,
            "body_rows": fragments.body_rows(bodies, repealed=repealed),
            "body_columns": _body_columns(sort, link),
            "chart_data": _stacked(bodies, lambda b: b["name"]),
        }
    if name == "chapters":
        chapters = selectors.dashboard_chapters(scope=scope)
        repealed = any_repealed(chapters)
        return {
            "chapters": chapters,
            "show_repealed": repealed,
            "chapter_rows": fragments.chapter_rows(chapters, repealed=repealed),
            "chart_data": _stacked(chapters, lambda c: f"{c['label']} {c['title']}".strip()),
        }
    if name == "grid":
        grid = selectors.grid_cells(scope=scope)
        head, rows = fragments.grid_table(grid)
        return {"grid": grid, "grid_head": head, "grid_rows": rows}
    if name == "overdue":
        overdue = selectors.dashboard_overdue(scope=scope, limit=PAGE_OVERDUE_ROWS)
        return {"overdue": overdue, "overdue_rows": fragments.overdue_rows(overdue["results"])}
    if name == "trend":
        trend = selectors.dashboard_trend(scope=scope)
        keys = ("week", "completed", "newly_overdue", "open", "planned_open")
        return {"trend": trend, "chart_data": [{k: w[k] for k in keys} for w in trend["weeks"]]}
    if name == "headline":
        return {"summary": selectors.dashboard_summary(scope=scope)}
    if name == "queue":
        return {"queue": selectors.dashboard_queue(scope=scope, limit=FIRST_SCREEN_ROWS)}
    if name == "red":
        return {"red": selectors.dashboard_red_bodies(scope=scope, limit=FIRST_SCREEN_ROWS)}
    if name == "objections":
        return {"objections": selectors.dashboard_pending_objections(scope=scope, limit=FIRST_SCREEN_ROWS)}
    if name == "extensions":
        return {"extensions": selectors.dashboard_pending_extensions(scope=scope, limit=FIRST_SCREEN_ROWS)}
    raise Http404


def first_screen_context(scope) -> dict:
    """The first screen: each aggregate once (the queue's count is the headline's 待核验)."""
    summary = selectors.dashboard_summary(scope=scope)
    return {
        "summary": summary,
        "queue": selectors.dashboard_queue(scope=scope, limit=FIRST_SCREEN_ROWS, count=summary["submitted"]),
        "red": selectors.dashboard_red_bodies(scope=scope, limit=FIRST_SCREEN_ROWS),
        "objections": selectors.dashboard_pending_objections(scope=scope, limit=FIRST_SCREEN_ROWS),
        "extensions": selectors.dashboard_pending_extensions(scope=scope, limit=FIRST_SCREEN_ROWS),
    }


class Links:
    """URLs that keep the request's filters (and sort): the full page of a tab, a section's fragment."""

    def __init__(self, query):
        self.params = [(k, v) for k, values in query.lists() if k != "tab" for v in values]

    def query(self, **changes) -> str:
        params = [(k, v) for k, v in self.params if k not in changes]
        params += [(k, v) for k, v in changes.items() if v]
        return urlencode(params)

    def filters(self) -> str:
        """Only the filters (no sort, page or tab): what a link to another of the dashboard's
        pages carries."""
        return urlencode([(k, v) for k, v in self.params if k in FILTER_KEYS])

    def __call__(self, name: str, **changes) -> dict:
        query = self.query(**changes)
        page = self.query(**changes, tab=name) if name in TABS else query
        return {
            "page_url": f"/dashboard/?{page}" if page else "/dashboard/",
            "section_url": f"/dashboard/section/{name}/" + (f"?{query}" if query else ""),
        }


def _common(request, scope, links: Links) -> dict:
    return {
        "scope": scope,
        "yellow_days": yellow_working_days(),
        "decides": request.user.is_lead or request.user.is_admin_role,
        "urls": {name: links(name) for name in (*FIRST_SCREEN, *TABS)},
        "filter_query": links.query(),
        "tabs": [{"name": name, "label": label, **links(name)} for name, label in TABS.items()],
        "lists": _list_urls(links.filters()),
    }


def _list_urls(filters: str) -> dict:
    """The dashboard and its whole lists (each a page of its own), with the filters in force."""
    suffix = f"?{filters}" if filters else ""
    return {name: f"/dashboard/{'' if name == 'dashboard' else name + '/'}{suffix}" for name in LIST_PAGES}


def _filter_labels(form: DashboardFilterForm) -> list[str]:
    """The filters in force, in words, for the folded filter box's summary."""
    if not form.is_valid():
        return []
    data = form.cleaned_data
    labels = []
    if data.get("regulation"):
        labels.append(f"《{data['regulation'].title}》")
    if data.get("level"):
        labels.append(dict(form.fields["level"].choices)[data["level"]])
    if data.get("department"):
        labels.append(data["department"].short_name)
    if data.get("date_from") or data.get("date_to"):
        start = data["date_from"].isoformat() if data.get("date_from") else "…"
        end = data["date_to"].isoformat() if data.get("date_to") else "…"
        labels.append(f"完成期限 {start} 至 {end}")
    return labels


@login_required
def dashboard(request):
    """The first screen, and the section named by ?tab= when the page is asked for with one."""
    form = DashboardFilterForm(request.GET)
    scope = selectors.dashboard_scope(user=request.user, filters=filters_from(form))
    links = Links(request.GET)
    context = {
        "form": form,
        "filtered": _filter_labels(form),
        **_common(request, scope, links),
        **first_screen_context(scope),
    }
    tab = request.GET.get("tab")
    if tab in TABS:
        context["tab"] = tab
        context.update(section_context(tab, scope, request, links, summary=context["summary"]))
    return render(request, "dashboard/dashboard.html", context)


@login_required
def section(request, name):
    """One section as a fragment (htmx), with the same filters as the page."""
    if name not in TABS and name not in FIRST_SCREEN:
        raise Http404
    form = DashboardFilterForm(request.GET)
    scope = selectors.dashboard_scope(user=request.user, filters=filters_from(form))
    links = Links(request.GET)
    context = {**_common(request, scope, links), **section_context(name, scope, request, links), "tab": name}
    return render(request, f"dashboard/sections/{name}.html", context)


# --- The whole lists: the queue, objections, extension requests ----------------------------------


def _page_number(raw) -> int:
    try:
        return min(max(1, int(raw)), 10**6)
    except (TypeError, ValueError):
        return 1


def paged(fetch, raw_page, size: int | None = None) -> tuple[dict, Page]:
    """One page of a list read by `fetch(limit=, offset=)` (a selector answering with its count),
    and the page's place among the pages. A page past the end shows the last one."""
    size = size or PAGE_QUEUE_ROWS
    number = _page_number(raw_page)
    data = fetch(limit=size, offset=(number - 1) * size)
    pages = Paginator(range(data["count"]), size)
    if number > pages.num_pages:
        number = pages.num_pages
        data = fetch(limit=size, offset=(number - 1) * size)
    return data, pages.page(number)


def _list_context(request, links: Links, form: DashboardFilterForm, page: Page, **keep) -> dict:
    """What every list page has: the filters box, and links to the pages that keep the filters
    and `keep` (the sort)."""
    base = links.filters()
    kept = urlencode([(k, v) for k, v in keep.items() if v])
    stay = "&".join(part for part in (base, kept) if part)
    return {
        "form": form,
        "filtered": _filter_labels(form),
        "page": page,
        "page_query": stay,  # the pager adds page=N
        # The list's own address (filters, sort and page): queue actions answer with this page.
        "list_query": "&".join(part for part in (stay, f"page={page.number}" if page.number > 1 else "") if part),
    }


def _queue_columns(sort: str, filters: str) -> list[dict]:
    """The queue's column heads: the active one flips its direction, another starts ascending."""
    key, descending = sort.lstrip("-"), sort.startswith("-")
    columns = []
    for name, label in QUEUE_COLUMNS:
        following = f"-{name}" if (name == key and not descending) else name
        query = "&".join(part for part in (filters, f"sort={following}") if part)
        columns.append(
            {"key": name, "label": label, "active": name == key, "descending": descending, "url": f"?{query}"}
        )
    return columns


def _queue_list(request, scope, links: Links, form) -> dict:
    sort = selectors.normalise_queue_sort(request.GET.get("sort"))
    queue, page = paged(
        lambda limit, offset: selectors.dashboard_queue_sorted(scope=scope, sort=sort, limit=limit, offset=offset),
        request.GET.get("page"),
    )
    keep = {"sort": "" if sort == selectors.DEFAULT_QUEUE_SORT else sort}
    return {
        **_common(request, scope, links),
        **_list_context(request, links, form, page, **keep),
        "queue": queue,
        "queue_columns": _queue_columns(sort, links.filters()),
    }


@login_required
def queue_page(request):
    """The whole verification queue: paged, sortable (submitted, due date, body, citation), with
    核验通过 / 退回 for those who decide; the same filters and visibility as the dashboard."""
    form = DashboardFilterForm(request.GET)
    scope = selectors.dashboard_scope(user=request.user, filters=filters_from(form))
    context = _queue_list(request, scope, Links(request.GET), form)
    return render(request, "dashboard/queue_page.html", context)


def _pending_page(request, name: str, selector, template: str):
    form = DashboardFilterForm(request.GET)
    scope = selectors.dashboard_scope(user=request.user, filters=filters_from(form))
    links = Links(request.GET)
    data, page = paged(lambda limit, offset: selector(scope=scope, limit=limit, offset=offset), request.GET.get("page"))
    context = {**_common(request, scope, links), **_list_context(request, links, form, page), name: data}
    return render(request, template, context)


@login_required
def objections_page(request):
    """Every pending objection, oldest first, paged."""
    return _pending_page(
        request, "objections", selectors.dashboard_pending_objections, "dashboard/objections_page.html"
    )


@login_required
def extensions_page(request):
    """Every pending extension request, oldest first, paged."""
    return _pending_page(
        request, "extensions", selectors.dashboard_pending_extensions, "dashboard/extensions_page.html"
    )


def _queue_response(request, scope, links, *, message: str, ok: bool, status: int = 200):
    """The queue page's list, on the page and in the order the action was taken from."""
    form = DashboardFilterForm(request.GET)
    context = {**_queue_list(request, scope, links, form), "queue_message": message, "queue_ok": ok}
    response = render(request, "dashboard/queue_list.html", context, status=status)
    if ok:
        response["HX-Trigger"] = CHANGED_EVENT
    return response


@login_required
def queue_action(request, pk):
    """核验通过 / 退回 from the queue, through the workflow service (which checks who may, the state
    and the version). htmx gets the refreshed queue; a plain form post is sent back to the page."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    obligation = get_object_or_404(Obligation.objects.visible_to(request.user), pk=pk)
    form = DashboardFilterForm(request.GET)
    scope = selectors.dashboard_scope(user=request.user, filters=filters_from(form))
    links = Links(request.GET)
    htmx = request.headers.get("HX-Request") == "true"
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "").strip()
    status, ok = 200, False
    if action not in QUEUE_ACTIONS:
        message, status = "未知操作。", 400
    elif action in services.REASON_REQUIRED and not reason:
        message, status = "退回时请填写意见。", 422
    else:
        try:
            services.obligation_transition(
                obligation=obligation,
                actor=request.user,
                action=action,
                reason=reason,
                expected_version=request.POST.get("version"),
            )
        except errors.NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except errors.ServiceError as exc:
            details = [str(m) for errors in exc.details.values() if isinstance(errors, list) for m in errors]
            message, status = "；".join([exc.message, *details]), (422 if exc.status == 400 else exc.status)
        else:
            message, ok = QUEUE_ACTIONS[action], True
    if htmx:
        return _queue_response(request, scope, links, message=message, ok=ok, status=status)
    (messages.success if ok else messages.error)(request, message)
    query = links.query()
    return redirect(f"/dashboard/queue/?{query}" if query else "/dashboard/queue/")
