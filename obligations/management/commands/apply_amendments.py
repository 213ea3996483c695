"""Carry over every pending amendment whose effective date has come: what the hourly beat task
does, for an operator who will not wait for it. Safe to run at any time and more than once."""

from django.core.management.base import BaseCommand, CommandError

from obligations.models import Carryover
from obligations.services import amendments_apply_due
from regulations.models import Amendment


class Command(BaseCommand):
    help = "结转已到施行日期的待生效法规修订（每项只结转一次，可重复运行）"

    def handle(self, *args, **options):
        results, failed = amendments_apply_due()
        for result in results:
            outcomes = "，".join(f"{Carryover.Outcome(k).label} {n}" for k, n in sorted(result.outcomes.items()))
            self.stdout.write(
                f"已结转《{result.regulation.title}》{result.version.label}"
                f"（自 {result.amendment.effective_on:%Y-%m-%d} 起施行）：{outcomes or '无义务变动'}"
            )
        for amendment_id in failed:
            self.stderr.write(f"修订决定 {amendment_id} 结转失败，仍为待生效（详见日志），下次运行将重试")
        waiting = Amendment.objects.filter(state=Amendment.State.PENDING).count()
        summary = f"applied {len(results)}, pending {waiting}, failed {len(failed)}"
        if failed:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
