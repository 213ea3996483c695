"""已废止 in the figures: an obligation whose duty an amendment repealed is outside 义务总数 on the
dashboard, its API, every report and the regulation list (obligations.figures.TOTAL_RULE), shown
beside it as "另有已废止 N 项", never overdue, not in the on-time rate; the per-body and per-chapter
stacked charts and tables show it as its own series where there are any."""

import datetime as dt
import html
import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from docx import Document

from accounts.models import User
from core.clock import told_at
from obligations import services
from obligations.models import Obligation
from obligations.seeding import import_regulation
from regulations.models import RegulationVersion
from tests.conftest import make_user
from tests.test_amendments import TEXT_2024, TEXT_CONSTRUCTED, at, cited, read
from tests.test_one_truth import csv_report, export, xlsx_figures

pytestmark = pytest.mark.django_db
S = Obligation.Status
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "evidence"
    settings.REPORTS_ROOT = tmp_path / "exports"


@pytest.fixture
def amended(departments):
    """The 2024 text in force; 第二十六条第一款 (市场监管部门's) overdue, then repealed by the
    constructed 修订 in force 2026-06-01."""
    lena = make_user("lena", User.Role.LEAD, departments["JN-GXJ"])
    with told_at(at("2026-01-10")):
        regulation = import_regulation(read(TEXT_2024), code="sh-jcjc").regulation
    repealed = cited(26, 1, "JN-SCJGJ", 1)
    with told_at(at("2026-02-01")):
        services.obligation_set_due_date(
            obligation=repealed, actor=lena, due_date=dt.date(2026, 3, 31), reason="首次设定", expected_version=1
        )
        for obligation in Obligation.objects.filter(department__code="JN-GOV")[:3]:
            services.obligation_set_due_date(
                obligation=obligation, actor=lena, due_date=dt.date(2026, 4, 30), reason="首次设定", expected_version=1
            )
    with told_at(at("2026-06-01")):
        services.regulation_amend(
            regulation=regulation,
            text=read(TEXT_CONSTRUCTED),
            effective=dt.date(2026, 6, 1),
            actor=lena,
            kind=RegulationVersion.Kind.REVISED,
        )
    repealed.refresh_from_db()
    assert repealed.status == S.REPEALED
    return regulation, lena, repealed


def test_dashboard_api_reports_and_the_regulation_list_count_repealed_alike(amended, client, tmp_path):
    regulation, lena, repealed = amended
    live = Obligation.objects.active().filter(clause__regulation=regulation)
    active, gone = live.exclude(status=S.REPEALED).count(), live.filter(status=S.REPEALED).count()
    assert gone == 1 and active > 50
    client.force_login(lena)

    summary = client.get("/api/dashboard/summary/", {"regulation": "sh-jcjc"}).json()
    assert (summary["total"], summary["repealed"]) == (active, gone)
    assert summary["overdue"] == 3  # the three governments' duties; the repealed one no longer
    assert summary["on_time_rate"] == 0.0  # 0 of 3: the repealed one counts neither way

    bodies = client.get("/api/dashboard/bodies/", {"regulation": "sh-jcjc"}).json()
    rows = bodies["results"] if isinstance(bodies, dict) else bodies
    assert sum(b["assigned"] for b in rows) == active and sum(b["repealed"] for b in rows) == gone
    market = next(b for b in rows if b["code"] == "JN-SCJGJ")
    assert market["repealed"] == 1 and market["overdue"] == 0
    assert market["assigned"] == live.filter(department__code="JN-SCJGJ").exclude(status=S.REPEALED).count()
    chapters = client.get("/api/dashboard/chapters/", {"regulation": "sh-jcjc"}).json()
    rows = chapters["results"] if isinstance(chapters, dict) else chapters
    assert sum(c["assigned"] for c in rows) == active and sum(c["repealed"] for c in rows) == gone

    # The reports: the same total, the repealed beside it, not overdue.
    figures = xlsx_figures(export(client, "xlsx", regulation="sh-jcjc"))
    assert (figures["total"], figures["overdue"]) == (active, 3) and figures["states"]["已废止"] == gone
    assert figures["bodies"][market_name(repealed)]["total"] == market["assigned"]
    _, csv_rows = csv_report(export(client, "csv", regulation="sh-jcjc"))
    assert sum(r["状态"] != "已废止" for r in csv_rows) == active
    assert sum(r["状态"] == "已废止" for r in csv_rows) == gone
    word = tmp_path / "report.docx"
    call_command(
        "export_implementation_report",
        "--format",
        "docx",
        "--regulation",
        "sh-jcjc",
        "-o",
        str(word),
        stdout=StringIO(),
    )
    text = "\n".join(p.text for p in Document(word).paragraphs)
    assert f"条例共分解义务{active}项（另有已废止 {gone} 项）" in text

    # The regulation list.
    page = client.get(reverse("regulation")).content.decode()
    line = page[page.index("《上海市检验检测条例》") :]
    assert f">{active}</a>" in line and "另有已废止 1 项" in line

    # The dashboard's pages: the headline, the status table's total, the stacked charts and tables.
    query = "?regulation=sh-jcjc"
    headline = client.get(f"/dashboard/section/headline/{query}", **HTMX).content.decode()
    assert f'<span class="figure-value">{active}</span>' in headline and "另有已废止 1 项" in headline
    status = client.get(f"/dashboard/section/status/{query}", **HTMX).content.decode()
    assert "合计（不含已废止）" in status
    for name in ("bodies", "chapters"):
        section = client.get(f"/dashboard/section/{name}/{query}", **HTMX).content.decode()
        assert '<th scope="col">已废止</th>' in section
        chart = chart_data(section)
        assert sum(bar.get("repealed", 0) for bar in chart) == gone
        assert all("repealed" in bar for bar in chart)
    # Where there are none, the four states only.
    section = client.get(f"/dashboard/section/bodies/{query}&department=JN-GOV", **HTMX).content.decode()
    assert "已废止" not in section and all("repealed" not in bar for bar in chart_data(section))


def market_name(obligation: Obligation) -> str:
    return obligation.department.name


def chart_data(section: str) -> list[dict]:
    return json.loads(html.unescape(re.search(r'data-values="([^"]*)"', section).group(1)))
