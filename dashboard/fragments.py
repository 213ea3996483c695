"""The dashboard's long tables written in one pass, outside the template engine.

A section's template keeps its frame (heading, caption, column heads); the rows, hundreds of them
(704 bodies, a grid of articles x bodies), are joined here from strings built once per request
(the lights, a grid cell's state), with each value escaped as the template would escape it. The
template engine costs a variable lookup, a filter call and an escape per cell, and an include per
light: 3 to 7 times the section's SQL before this module. tests/test_dashboard_sections.py reads
the rows back.

Dates and times print as the templates' `date:"Y-m-d"` / `date:"Y-m-d H:i"` in Asia/Shanghai;
rates with `obligations.figures.format_rate`, as every page and report prints them.
"""

import datetime as dt
import unicodedata
from html import escape

import orjson
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from obligations.figures import format_rate

from .selectors import STATUS_LABELS, STATUS_ORDER, GridCells, worst_light

# dashboard/_light.html for each light, written once.
LIGHT_HTML = {
    "red": '<span class="light light-red" role="img" aria-label="红灯：逾期" title="逾期"></span>',
    "yellow": '<span class="light light-yellow" role="img" aria-label="黄灯：临期" title="临期"></span>',
    "green": '<span class="light light-green" role="img" aria-label="绿灯：正常" title="正常"></span>',
}


def _text(value) -> str:
    return "" if value is None else escape(str(value))


def truncate(text: str | None, length: int) -> str:
    """The `truncatechars` filter for plain text: at most `length` characters, the last an
    ellipsis when cut. (Django's Truncator also counts combining marks as zero width; the
    regulations' Chinese text has none.)"""
    text = unicodedata.normalize("NFC", text or "")
    return text if len(text) <= length else text[: length - 1] + "…"


def day(value: dt.date | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d}"


def minute(value: dt.datetime | None) -> str:
    return "" if value is None else f"{timezone.localtime(value):%Y-%m-%d %H:%M}"


def percent(value: float | None) -> str:
    """`{% widthratio rate 1 100 %}%`, or — for no rate."""
    return "—" if value is None else f"{round(value * 100)}%"


def chart_json(rows) -> str:
    """A chart's numbers for its data-values attribute (escaped by the template)."""
    return orjson.dumps(rows).decode()


# --- By body and by chapter -----------------------------------------------------------------------


def _repealed_cell(row: dict, repealed: bool) -> str:
    """The 已废止 column, present only when some row has any (dashboard.views.any_repealed)."""
    return f'<td class="num">{row["repealed"]}</td>' if repealed else ""


def body_rows(bodies: list[dict], *, repealed: bool = False) -> SafeString:
    parts = []
    for b in bodies:
        overdue = b["overdue"]
        idle = b["days_since_activity"]
        parts.append(
            f'<tr data-department="{_text(b["code"])}"><td>{LIGHT_HTML[b["light"]]}</td>'
            f'<th scope="row"><a href="{_text(b["tasks_url"])}" title="{_text(b["full_name"])}">'
            f"{_text(b['name'])}</a></th>"
            f'<td class="num">{b["assigned"]}</td><td class="num">{b["in_progress"]}</td>'
            f'<td class="num">{b["submitted"]}</td><td class="num">{b["verified"]}</td>'
            f"{_repealed_cell(b, repealed)}"
            f'<td class="num{" text-red" if overdue else ""}">{overdue}</td>'
            f'<td class="num">{format_rate(b["on_time_rate"])}</td>'
            f'<td class="num">{"无动态" if idle is None else idle}</td><td>{_text(b["level_label"])}</td></tr>'
        )
    return mark_safe("\n".join(parts))  # noqa: S308 (every value above is escaped)


def chapter_rows(chapters: list[dict], *, repealed: bool = False) -> SafeString:
    parts = []
    for c in chapters:
        parts.append(
            f"<tr><td>{LIGHT_HTML[c['light']]}</td>"
            f'<th scope="row">{_text(c["label"])} {_text(c["title"])}</th>'
            f'<td class="num">{c["assigned"]}</td><td class="num">{c["not_started"]}</td>'
            f'<td class="num">{c["in_progress"]}</td><td class="num">{c["submitted"]}</td>'
            f'<td class="num">{c["verified"]}</td>{_repealed_cell(c, repealed)}<td class="num">{c["overdue"]}</td>'
            f'<td class="num">{percent(c["completion_rate"])}</td></tr>'
        )
    return mark_safe("\n".join(parts))  # noqa: S308 (every value above is escaped)


# --- The overdue list ----------------------------------------------------------------------------


def overdue_rows(rows: list[dict]) -> SafeString:
    parts = []
    for row in rows:
        if row["last_progress_at"]:
            progress = (
                f'<span class="muted">{minute(row["last_progress_at"])}</span> '
                f"{_text(truncate(row['last_progress_text'], 80))}"
            )
        else:
            progress = "暂无进展"
        parts.append(
            f"<tr><td>{LIGHT_HTML[row['light']]}</td>"
            f'<td class="num text-red">{row["days_overdue"]}</td>'
            f'<td><a href="{_text(row["url"])}">{_text(row["citation"])}</a>'
            f'<div class="clause-text">{_text(truncate(row["text"], 60))}</div></td>'
            f'<td><a href="/tasks/?department={_text(row["department_code"])}">{_text(row["department_name"])}</a></td>'
            f"<td>{_text(row['status_label'])}</td><td>{day(row['due_date'])}</td><td>{progress}</td>"
            f'<td class="last-reminder">{minute(row["last_reminder_at"]) or "—"}</td></tr>'
        )
    return mark_safe("\n".join(parts))  # noqa: S308 (every value above is escaped)


# --- The grid ------------------------------------------------------------------------------------

_WARNING = {"red": "，逾期", "yellow": "，临期", "green": ""}


def _cell_parts(least: int, light: str, total: int, overdue: int) -> tuple[str, str]:
    """A grid cell's HTML before and after its article's label (in the cell's title)."""
    state = STATUS_ORDER[least]
    label = escape(STATUS_LABELS[state])
    count = f"<sub>{total}</sub>" if total > 1 else ""
    after_overdue = f" · 逾期 {overdue}" if overdue else ""
    return (
        f'<td class="cell cell-{escape(str(state))} ring-{light}" title="',
        f' · {label}{after_overdue}">{label[:1]}{count}<span class="sr-only">{label}{_WARNING[light]}</span></td>',
    )


def grid_table(grid: GridCells) -> tuple[SafeString, SafeString]:
    """The grid's column heads and its rows, in one pass over the cells (they come in the
    articles' order). Cells repeat (a state, a light, a count): each distinct one is written once
    and joined around the row's article label."""
    head = "".join(
        f'<th scope="col" class="grid-body"><a href="/tasks/?department={escape(code)}">{escape(name)}</a></th>'
        for code, name in grid.columns
    )
    empty = ["<td></td>"] * len(grid.columns)  # no style of its own: the bare cell
    known: dict[tuple, tuple[str, str]] = {}
    rows = []
    labels = {article[0]: article[2] for article in grid.articles}
    current, label, cells = None, "", empty

    def close() -> None:
        rows.append(f'<tr><th scope="row">{label}</th>{"".join(cells)}</tr>')

    for article_id, column, total, overdue, due_soon, least in grid.cells:
        if article_id != current:
            if current is not None:
                close()
            current, cells = article_id, empty.copy()
            label = escape(labels[article_id])
        key = (least, total, overdue, due_soon > 0)
        parts = known.get(key)
        if parts is None:
            parts = known[key] = _cell_parts(least, worst_light(overdue, due_soon), total, overdue)
        cells[column] = parts[0] + label + parts[1]
    if current is not None:
        close()
    return mark_safe(head), mark_safe("\n".join(rows))  # noqa: S308 (every value above is escaped)
