"""The default schedule, stored in the database (django-celery-beat) so the admin can change it:
the reminder sweep daily at 09:00 Asia/Shanghai, and delivery retries every 10 minutes."""

import json

from django.db import migrations

SWEEP_NAME = "每日督办提醒（09:00）"
RETRY_NAME = "失败消息重试（每10分钟）"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="9", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai"
    )
    PeriodicTask.objects.get_or_create(
        name=SWEEP_NAME,
        defaults={
            "task": "notifications.tasks.send_reminders",
            "crontab": crontab,
            "args": json.dumps([]),
            "kwargs": json.dumps({}),
            # Expires just under the period: a sweep queued while workers were down for a day is
            # dropped in favour of the next one (which catches up anyway).
            "expire_seconds": 23 * 3600,
            "description": "扫描到期、逾期、工作节点与延期申请，发送提醒、升级通知和每日汇总。",
        },
    )
    every_ten, _ = IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=RETRY_NAME,
        defaults={
            "task": "notifications.tasks.retry_deliveries",
            "interval": every_ten,
            "args": json.dumps([]),
            "kwargs": json.dumps({}),
            "expire_seconds": 9 * 60,
            "description": "按退避时间重试发送失败的邮件和 Webhook 消息。",
        },
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[SWEEP_NAME, RETRY_NAME]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
