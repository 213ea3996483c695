"""One truth (issue 13, item 2): each rule written once, and every surface reading it.

- The light: on a Thursday and on the eve of a public holiday, the task list, the obligation
  page, the API, the dashboard (page and API) and the report (XLSX, CSV, PDF) light each
  obligation the same, counting the yellow window in working days.
- The figures: on the demo data, the dashboard's figures (total, each state, overdue, on-time
  rate, and the same per body) equal the compliance report's in XLSX, CSV and PDF, for the same
  day and the same selection.
- The SQL and the in-hand forms of the rules agree on every state and date around a weekend.
"""

import csv
import datetime as dt
import io
import re
from collections import Counter
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from accounts.models import Department, User
from obligations import audit, figures, services
from obligations.figures import ON_TIME_RULE, format_rate
from obligations.models import AuditEntry, LightWindow, Obligation, overdue_q
from tests.factories import make_obligation

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
S = Obligation.Status
STATES = [label for _, label in S.choices]


def at(day: str, time: str = "10:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=SH)


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "evidence"
    settings.REPORTS_ROOT = tmp_path / "exports"


def content_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def export(client, fmt: str, **filters) -> bytes:
    response = client.post(reverse("reports:export"), {"format": fmt, **filters})
    assert response.status_code == 200, response.content[:500]
    return content_of(response)


# --- the light, everywhere ----------------------------------------------------------------------

# (today, [(body, state, due date, the light every surface must show)], why the day is hard)
LIGHT_DAYS = {
    # Thursday: three working days reach Tuesday over the weekend. Counted in calendar days,
    # Monday's and Tuesday's due dates would be green.
    "thursday": (
        "2025-03-13",
        [
            ("JN-DSJ", S.IN_PROGRESS, "2025-03-12", "red"),
            ("JN-FGW", S.IN_PROGRESS, "2025-03-17", "yellow"),  # Monday
            ("JN-LIXIA", S.NOT_STARTED, "2025-03-18", "yellow"),  # Tuesday, the third working day
            ("JN-SJJ", S.IN_PROGRESS, "2025-03-19", "green"),  # Wednesday, the fourth
            ("JN-GXJ", S.SUBMITTED, "2025-03-14", "green"),  # handed in: off the clock
        ],
    ),
    # The eve of the 2025 National Day holiday (1-8 October; Saturday 11 October is worked,
    # chinesecalendar): three working days are 9, 10 and 11 October.
    "holiday eve": (
        "2025-09-30",
        [
            ("JN-DSJ", S.NOT_STARTED, "2025-09-29", "red"),
            ("JN-FGW", S.IN_PROGRESS, "2025-10-09", "yellow"),  # nine calendar days away
            ("JN-LIXIA", S.IN_PROGRESS, "2025-10-11", "yellow"),  # the worked Saturday
            ("JN-SJJ", S.NOT_STARTED, "2025-10-13", "green"),
            ("JN-GXJ", S.VERIFIED, "2025-10-01", "green"),
        ],
    ),
}


def light_in_html(html: str, anchor: str) -> str:
    """The light class of the table row holding `anchor` (a link or a data attribute)."""
    row = next(r for r in re.findall(r"<tr[^>]*>.*?</tr>", html, re.S) if anchor in r)
    return re.search(r'class="light light-(\w+)"', row).group(1)


@pytest.mark.parametrize("day", LIGHT_DAYS, ids=list(LIGHT_DAYS))
def test_every_surface_shows_the_same_light_on_a_thursday_and_on_a_holiday_eve(client, departments, cast, day):
    today, rows = LIGHT_DAYS[day]
    made = [
        (make_obligation(code, status=state, due_date=dt.date.fromisoformat(due)), code, light)
        for code, state, due, light in rows
    ]
    expected = {o.pk: light for o, _, light in made}
    lead = cast["lena"]
    client.force_login(lead)
    with time_machine.travel(at(today), tick=False):
        tasks = client.get("/tasks/").content.decode()
        pages = {o.pk: client.get(f"/obligations/{o.pk}/").content.decode() for o, _, _ in made}
        models = {o.pk: Obligation.objects.get(pk=o.pk).traffic_light() for o, _, _ in made}
        api_list = {r["id"]: r["traffic_light"] for r in client.get("/api/obligations/").json()["results"]}
        api_one = {o.pk: client.get(f"/api/obligations/{o.pk}/").json()["traffic_light"] for o, _, _ in made}
        # One obligation per body: a body's light on the dashboard is its obligation's.
        dashboard = client.get("/dashboard/?tab=bodies").content.decode()
        bodies = {r["code"]: r["light"] for r in client.get("/api/dashboard/bodies/").json()}
        _, header_rows = csv_report(export(client, "csv"))
        xlsx_header, xlsx_rows = xlsx_obligations(export(client, "xlsx"))
        pdf = pdf_text(export(client, "pdf"))

    label = {"red": "红灯（逾期）", "yellow": "黄灯（临期）", "green": "绿灯"}
    csv_lights = {int(r["义务编号"]): r["亮灯"] for r in header_rows}
    xlsx_lights = {r[xlsx_header.index("义务编号")]: r[xlsx_header.index("亮灯")] for r in xlsx_rows}
    for obligation, code, light in made:
        seen = {
            "task list": light_in_html(tasks, f'href="/obligations/{obligation.pk}/"'),
            "obligation page": re.search(r'<h1><span class="light light-(\w+)"', pages[obligation.pk]).group(1),
            "API list": api_list[obligation.pk],
            "API detail": api_one[obligation.pk],
            "model": models[obligation.pk],
            "dashboard page": light_in_html(dashboard, f'data-department="{code}"'),
            "dashboard API": bodies[code],
            "CSV report": {v: k for k, v in label.items()}[csv_lights[obligation.pk]],
            "XLSX report": {v: k for k, v in label.items()}[xlsx_lights[obligation.pk]],
        }
        assert seen == dict.fromkeys(seen, light), (day, obligation.due_date, seen)
    # The PDF prints the light under each obligation's state and date, in the same order as the CSV.
    assert [label[expected[int(r["义务编号"])]] for r in header_rows] == re.findall(
        r"(红灯（逾期）|黄灯（临期）|绿灯)", pdf.split("三、义务明细")[1]
    )


def test_the_yellow_window_is_one_setting_for_every_surface(client, departments, cast, settings):
    obligation = make_obligation("JN-DSJ", status=S.IN_PROGRESS, due_date=dt.date(2025, 3, 19))
    client.force_login(cast["lena"])
    settings.YELLOW_WORKING_DAYS = 4
    with time_machine.travel(at("2025-03-13"), tick=False):
        assert client.get(f"/api/obligations/{obligation.pk}/").json()["traffic_light"] == "yellow"
        assert client.get("/api/dashboard/bodies/").json()[0]["light"] == "yellow"
        assert "4 个工作日内到期（至 2025年03月19日）" in "".join(csv_report(export(client, "csv"))[0])


def test_sql_and_in_hand_rules_agree_on_every_state_around_a_weekend(departments):
    thursday = dt.date(2025, 3, 13)
    # Hand-in moments around a due date's midnight in Asia/Shanghai (23:30 local is still the day).
    moments = [None, at("2025-03-12", "23:30"), at("2025-03-13", "00:30"), at("2025-03-16", "12:00")]
    for status in S:
        for offset in [None, *range(-3, 9)]:
            due = None if offset is None else thursday + dt.timedelta(days=offset)
            for submitted, verified in [(None, None), *zip(moments, reversed(moments), strict=True)]:
                obligation = make_obligation("JN-DSJ", status=status, due_date=due)
                Obligation.objects.filter(pk=obligation.pk).update(submitted_at=submitted, verified_at=verified)
    window = LightWindow.for_day(thursday)
    overdue = set(Obligation.objects.filter(overdue_q(thursday)).values_list("pk", flat=True))
    rows = Obligation.objects.with_light(window).annotate(timeliness=figures.timeliness_case(thursday))
    assert rows.count() == len(S) * 13 * 5
    for row in rows:
        case = (row.status, row.due_date, row.submitted_at, row.verified_at)
        assert row.light == row.traffic_light(window), case
        assert (row.pk in overdue) == row.is_overdue(thursday), case
        handed = figures.handed_in_day(row.status, row.submitted_at, row.verified_at)
        assert row.timeliness == figures.timeliness_of(row.status, row.due_date, handed, thursday), case
    kinds = Counter(rows.values_list("timeliness", flat=True))
    assert set(kinds) == {"on_time", "late", "overdue", "pending", "no_due", "ended"}


def test_audit_actions_are_one_enum_and_the_history_shows_their_labels(client, departments, cast):
    obligation = make_obligation("JN-DSJ")
    services.obligation_transition(
        obligation=obligation, actor=cast["alice"], action="start", expected_version=obligation.version
    )
    entry = AuditEntry.objects.get(obligation=obligation)
    assert entry.action == audit.AuditAction.OBLIGATION_STATUS == "obligation.status"
    client.force_login(cast["alice"])
    assert "状态变更（未启动 → 推进中）" in client.get(f"/obligations/{obligation.pk}/").content.decode()
    with pytest.raises(ValueError):
        audit.record("obligation.statuss", obligation=obligation)


# --- the figures: dashboard = report ------------------------------------------------------------


def csv_report(data: bytes) -> tuple[list[str], list[dict]]:
    """(header lines as "label value", obligation rows as dicts)."""
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    at_ = next(i for i, line in enumerate(lines) if line[:1] == ["条款"])
    header = lines[at_]
    return [" ".join(line) for line in lines[:at_]], [dict(zip(header, r, strict=True)) for r in lines[at_ + 1 :]]


def xlsx_obligations(data: bytes) -> tuple[list, list[list]]:
    rows = [list(r) for r in load_workbook(io.BytesIO(data))["义务明细"].iter_rows(values_only=True)]
    return rows[0], rows[1:]


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def xlsx_rate(cell):
    """A rate cell is a number (shown with a percent format) or the text for no rate."""
    return format_rate(cell) if isinstance(cell, int | float) else cell


def xlsx_figures(data: bytes) -> dict:
    """The summary sheet's figures: overall, per state, per body (by full name)."""
    sheet = [list(r) for r in load_workbook(io.BytesIO(data))["汇总"].iter_rows(values_only=True)]
    label = {r[0]: r[1] for r in sheet if r and r[0] is not None and len(r) > 1}
    at_ = next(i for i, r in enumerate(sheet) if r and r[0] == "按责任单位统计")
    bodies = {}
    for r in sheet[at_ + 1 :]:
        if not r or r[0] is None:
            break
        n = len(STATES)  # one column per state (已废止 included), then overdue and the rate
        bodies[r[0]] = {
            "total": r[1],
            **dict(zip(STATES, r[2 : 2 + n], strict=True)),
            "overdue": r[2 + n],
            "rate": xlsx_rate(r[3 + n]),
        }
    return {
        "total": label["义务总数"],
        "overdue": label["逾期未提交"],
        "rate": xlsx_rate(label["按期完成率"]),
        "states": {s: label[s] for s in STATES},
        "bodies": bodies,
        "rule": label["统计口径"],
    }


def csv_figures(data: bytes) -> dict:
    """The CSV has rows, not a summary: the figures are counted from its rows, by the words
    the report prints in 按期情况 (按期完成 / 逾期…完成 / 已逾期…)."""
    header_lines, rows = csv_report(data)

    def figures_of(rows):
        kinds = Counter(
            "on_time"
            if r["按期情况"] == "按期完成"
            else "late"
            if r["按期情况"].endswith("天完成")
            else "overdue"
            if r["按期情况"].startswith("已逾期")
            else "other"
            for r in rows
        )
        counted = kinds["on_time"] + kinds["late"] + kinds["overdue"]
        return {
            "total": len(rows),
            "overdue": kinds["overdue"],
            "rate": format_rate(round(kinds["on_time"] / counted, 4) if counted else None),
            "states": {s: sum(r["状态"] == s for r in rows) for s in STATES},
        }

    by_body = {}
    for r in rows:
        by_body.setdefault(r["责任单位"], []).append(r)
    return {
        **figures_of(rows),
        "bodies": {name: figures_of(body_rows) for name, body_rows in by_body.items()},
        "rule": next(line for line in header_lines if line.startswith("统计口径")),
    }


def pdf_figures(data: bytes) -> dict:
    """The PDF's summary tables, read back from its extracted text (one table cell a line)."""
    text = pdf_text(data)
    lines = [line.strip() for line in text.splitlines()]
    overall_at = lines.index("佐证材料（件）") + 1
    total, overdue, _, _, rate = lines[overall_at : overall_at + 5]
    states_at = lines.index(STATES[-1], overall_at) + 1
    columns = ["责任单位", "义务数", *STATES, "逾期未提交", "按期完成率"]
    at_ = lines.index("二、按责任单位统计") + 1
    assert lines[at_ : at_ + len(columns)] == columns
    cells = lines[at_ + len(columns) : lines.index("三、义务明细")]
    # A long name wraps onto several lines; a page break repeats the header and adds the
    # page number and the running title.
    noise = set(columns)
    cells = [c for c in cells if c not in noise and not re.fullmatch(r"第 \d+ 页 共 \d+ 页|《.*· 生成于.*", c)]
    bodies, name, i = {}, "", 0
    while i < len(cells):
        if not re.fullmatch(r"\d+", cells[i]):
            name, i = name + cells[i], i + 1
            continue
        body_total, *counts, body_overdue, body_rate = cells[i : i + len(columns) - 1]
        bodies[name] = {
            "total": int(body_total),
            **dict(zip(STATES, map(int, counts), strict=True)),
            "overdue": int(body_overdue),
            "rate": body_rate,
        }
        name, i = "", i + len(columns) - 1
    return {
        "total": int(total),
        "overdue": int(overdue),
        "rate": rate,
        "states": dict(zip(STATES, map(int, lines[states_at : states_at + len(STATES)]), strict=True)),
        "bodies": bodies,
        "compact": "".join(text.split()),
    }


@pytest.fixture
def demo(settings, departments):
    """seed_demo on 2026-09-01 (a year of work, late hand-ins among it), then one more late
    hand-in and two verifications, then 2026-11-30."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with time_machine.travel(at("2026-09-01"), tick=False):
        call_command("seed_demo", stdout=StringIO())
    lead = User.objects.get(username="lead")
    with time_machine.travel(at("2026-10-20"), tick=False):
        # A body hands in one overdue obligation late; the lead verifies two submissions.
        late = Obligation.objects.overdue().order_by("id").first()
        staff = User.objects.filter(role=User.Role.STAFF, department=late.department).first()
        if late.status == S.NOT_STARTED:
            late = services.obligation_transition(
                obligation=late, actor=staff, action="start", expected_version=late.version
            )
        services.evidence_add(
            obligation=late, actor=staff, kind="link", description="方案", url="https://www.jinan.gov.cn/"
        )
        late.refresh_from_db()
        services.obligation_transition(obligation=late, actor=staff, action="submit", expected_version=late.version)
        for submitted in Obligation.objects.filter(status=S.SUBMITTED).order_by("id")[:2]:
            services.obligation_transition(
                obligation=submitted, actor=lead, action="verify", expected_version=submitted.version
            )
    return lead


@pytest.mark.parametrize(
    "selection",
    [{}, {"department": "JN-DSJ"}, {"due_from": "2026-08-01", "due_to": "2026-12-31"}],
    ids=["everything", "one body", "due dates"],
)
def test_dashboard_figures_equal_the_reports_figures_on_the_demo_data(client, demo, selection):
    client.force_login(demo)
    dashboard_query = {
        "department": selection.get("department"),
        "date_from": selection.get("due_from"),
        "date_to": selection.get("due_to"),
    }
    dashboard_query = {k: v for k, v in dashboard_query.items() if v}
    with time_machine.travel(at("2026-11-30"), tick=False):
        summary = client.get("/api/dashboard/summary/", dashboard_query).json()
        bodies = client.get("/api/dashboard/bodies/", dashboard_query).json()
        xlsx = xlsx_figures(export(client, "xlsx", **selection))
        csv_ = csv_figures(export(client, "csv", **selection))
        pdf = pdf_figures(export(client, "pdf", **selection))

    # The demo data exercise every part of the rate: handed in on time, late, and overdue.
    assert summary["on_time"] and summary["overdue"] and (summary["late"] or selection.get("due_from"))
    dashboard = {
        "total": summary["total"],
        "overdue": summary["overdue"],
        "rate": format_rate(summary["on_time_rate"]),
        "states": dict(zip(STATES, [summary[s] for s in S.values], strict=True)),
    }
    dashboard_bodies = {
        Department.objects.get(code=b["code"]).name: {
            "total": b["assigned"],
            **dict(zip(STATES, [b[s] for s in S.values], strict=True)),
            "overdue": b["overdue"],
            "rate": format_rate(b["on_time_rate"]),
        }
        for b in bodies
    }
    assert {k: xlsx[k] for k in dashboard} == dashboard
    assert xlsx["bodies"] == dashboard_bodies
    assert {k: csv_[k] for k in dashboard} == dashboard
    assert {
        name: {"total": f["total"], **f["states"], "overdue": f["overdue"], "rate": f["rate"]}
        for name, f in csv_["bodies"].items()
    } == dashboard_bodies
    assert {k: pdf[k] for k in dashboard} == dashboard
    assert pdf["bodies"] == dashboard_bodies
    # One definition, in words, in every report and on the dashboard.
    assert summary["on_time_rule"] == ON_TIME_RULE
    assert xlsx["rule"] == ON_TIME_RULE and csv_["rule"] == f"统计口径 {ON_TIME_RULE}"
    assert "".join(ON_TIME_RULE.split()) in pdf["compact"]
    with time_machine.travel(at("2026-11-30"), tick=False):
        page = client.get("/dashboard/", dashboard_query).content.decode()
    assert ON_TIME_RULE in page and f'{dashboard["rate"]}</span><span class="figure-label">按期完成率' in page
