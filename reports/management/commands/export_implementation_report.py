from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from core.files import write_whole
from reports import services

from .export_compliance_report import _date


class Command(BaseCommand):
    help = (
        "导出《条例》实施情况报告（Word，按 GB/T 9704 公文格式），数据与督办看板、合规报告同一口径；导出记入审计记录。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", required=True, choices=["docx"])
        parser.add_argument("--as-of", help="状态截至日期 YYYY-MM-DD（留空为当前状态）")
        parser.add_argument("--regulation", default="", help="法规代码（默认为最先导入的法规）")
        parser.add_argument("--user", help="以该用户名义导出；留空则以系统名义导出")
        parser.add_argument("-o", "--output", required=True, help="输出文件路径（.docx）")

    def handle(self, *args, **opts):
        user = None
        if opts.get("user"):
            user = User.objects.filter(username=opts["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"用户不存在或已停用：{opts['user']}")
        as_of = _date(opts["as_of"]) if opts.get("as_of") else None
        try:
            ctx = services.implementation_report_context(user=user, as_of=as_of, regulation=opts["regulation"] or "")
        except services.ReportError as err:
            raise CommandError(err.message) from err
        target = Path(opts["output"]).resolve()
        with write_whole(target) as out:
            data = services.implementation_report_write(ctx=ctx, user=user, out=out)
        self.stdout.write(
            self.style.SUCCESS(f"已导出 {target}，共 {data.summary.total} 项义务（状态截至 {ctx.on.isoformat()}）。")
        )
