import datetime as dt
import zoneinfo

from django.conf import settings
from django.db import migrations, models
from django.db.models import F
from django.utils import timezone

CLOSED = ("submitted", "verified")


def record_missed_due_dates(apps, schema_editor):
    """Obligations handed in before this column existed: a missed date is read off the history.

    The state at the end of the due date is the last status entry of the audit trail on or before
    that day; with no such entry, the handed-in times on the row decide. Open obligations need
    nothing: while overdue, their current due date is the one they are missing.
    """
    Obligation = apps.get_model("obligations", "Obligation")
    AuditEntry = apps.get_model("obligations", "AuditEntry")
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    today = timezone.localdate()
    candidates = Obligation.objects.filter(status__in=CLOSED, due_date__lt=today, missed_due_date__isnull=True)
    missed = []
    for obligation in candidates.only("id", "due_date", "submitted_at", "verified_at").iterator(chunk_size=2000):
        end_of_day = dt.datetime.combine(obligation.due_date + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        last = (
            AuditEntry.objects.filter(obligation_id=obligation.id, action="obligation.status", at__lt=end_of_day)
            .order_by("-at", "-id")
            .values_list("after", flat=True)
            .first()
        )
        if last is not None:
            handed_in = (last or {}).get("status") in CLOSED
        else:
            moments = (obligation.submitted_at, obligation.verified_at)
            handed_in = any(m is not None and m.astimezone(tz).date() <= obligation.due_date for m in moments)
        if not handed_in:
            missed.append(obligation.id)
    for start in range(0, len(missed), 2000):
        Obligation.objects.filter(id__in=missed[start : start + 2000]).update(missed_due_date=F("due_date"))


class Migration(migrations.Migration):
    dependencies = [
        ("obligations", "0002_indexes_for_task_list_queue_and_trend"),
    ]

    operations = [
        migrations.AddField(
            model_name="obligation",
            name="missed_due_date",
            field=models.DateField(blank=True, null=True, verbose_name="逾期的期限"),
        ),
        migrations.RunPython(record_missed_due_dates, migrations.RunPython.noop),
    ]
