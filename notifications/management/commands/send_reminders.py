import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notifications.reminders import sweep


class Command(BaseCommand):
    help = "执行一次提醒扫描（与每日定时任务相同），输出发送、跳过与失败数量。"

    def add_arguments(self, parser):
        parser.add_argument("--now", help="按该时间执行扫描（ISO 8601，例如 2025-09-30T09:00:00+08:00）")

    def handle(self, *args, now=None, **options):
        moment = None
        if now:
            try:
                moment = dt.datetime.fromisoformat(now)
            except ValueError as exc:
                raise CommandError(f"--now 不是有效的 ISO 8601 时间：{now}") from exc
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
        result = sweep(now=moment)
        self.stdout.write(result.summary())
