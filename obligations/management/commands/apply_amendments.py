"""Carry over every pending amendment whose effective date has come: what the hourly beat task
does, for an operator who will not wait for it. Safe to run at any time and more than once."""

from django.core.management.base import BaseCommand

from obligations.models import Carryover
from obligations.services import amendments_apply_due
from regulations.models import Amendment


class Command(BaseCommand):
    help = "结转已到施行日期的待生效法规修订（每项只结转一次，可重复运行）"

    def handle(self, *args, **options):
        results = amendments_apply_due()
        for result in results:
            outcomes = "，".join(f"{Carryover.Outcome(k).label} {n}" for k, n in sorted(result.outcomes.items()))
            self.stdout.write(
                f"已结转《{result.regulation.title}》{result.version.label}"
                f"（自 {result.amendment.effective_on:%Y-%m-%d} 起施行）：{outcomes or '无义务变动'}"
            )
        waiting = Amendment.objects.filter(state=Amendment.State.PENDING).count()
        self.stdout.write(self.style.SUCCESS(f"applied {len(results)}, pending {waiting}"))
