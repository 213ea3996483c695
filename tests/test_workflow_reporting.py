"""定期报送: the next due report and whether the current one is missing."""

import datetime as dt

import pytest

from core import errors
from obligations import selectors, services
from obligations.models import ReportingRequirement
from tests.factories import fast_passwords, make_obligation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(settings):
    fast_passwords(settings)


def require(o, lead, frequency, starts_on):
    return services.reporting_require(obligation=o, actor=lead, frequency=frequency, starts_on=starts_on, due_day=5)


@pytest.mark.parametrize(
    "day,frequency,label,start,end",
    [
        (dt.date(2025, 2, 14), "monthly", "2025-02", dt.date(2025, 2, 1), dt.date(2025, 2, 28)),
        (dt.date(2025, 12, 31), "monthly", "2025-12", dt.date(2025, 12, 1), dt.date(2025, 12, 31)),
        (dt.date(2025, 5, 1), "quarterly", "2025Q2", dt.date(2025, 4, 1), dt.date(2025, 6, 30)),
        (dt.date(2025, 11, 30), "quarterly", "2025Q4", dt.date(2025, 10, 1), dt.date(2025, 12, 31)),
    ],
)
def test_periods(day, frequency, label, start, end):
    period = selectors.period_containing(day, frequency)
    assert (period.label, period.start, period.end) == (label, start, end)


def test_monthly_report_due_then_missing_then_filed(cast):
    o = make_obligation("JN-DSJ")
    req = require(o, cast["lena"], "monthly", dt.date(2025, 1, 1))
    # In January nothing has closed yet: the January report is next, due 5 February.
    st = selectors.reporting_status(req, dt.date(2025, 1, 20))
    assert (st.period, st.due_on, st.missing) == ("2025-01", dt.date(2025, 2, 5), False)
    # On 3 February the January report is due and not yet late.
    st = selectors.reporting_status(req, dt.date(2025, 2, 3))
    assert (st.period, st.due_on, st.missing) == ("2025-01", dt.date(2025, 2, 5), False)
    # On 6 February it is missing.
    assert selectors.reporting_status(req, dt.date(2025, 2, 6)).missing
    services.progress_add(obligation=o, actor=cast["alice"], text="一月工作报告", report_period="2025-01")
    st = selectors.reporting_status(req, dt.date(2025, 2, 6))
    assert (st.period, st.due_on, st.missing) == ("2025-02", dt.date(2025, 3, 5), False)


def test_quarterly_report(cast):
    o = make_obligation("JN-DSJ")
    req = require(o, cast["lena"], "quarterly", dt.date(2025, 1, 1))
    st = selectors.reporting_status(req, dt.date(2025, 4, 10))
    assert (st.period, st.due_on, st.missing) == ("2025Q1", dt.date(2025, 4, 5), True)


def test_only_the_lead_requires_reports(cast):
    o = make_obligation("JN-DSJ")
    with pytest.raises(errors.NotAllowed):
        require(o, cast["alice"], "monthly", dt.date(2025, 1, 1))
    assert not ReportingRequirement.objects.exists()
