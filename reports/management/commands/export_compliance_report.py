import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from core.files import write_whole
from regulations.models import Regulation
from reports import services
from reports.asof import ReportFilters
from reports.models import ExportJob


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"日期格式应为 YYYY-MM-DD：{value}") from exc


class Command(BaseCommand):
    help = "导出合规报告（xlsx / pdf / csv / bundle），可指定截至日期与筛选条件；导出记入审计记录。"

    def add_arguments(self, parser):
        parser.add_argument("--format", required=True, choices=[c for c, _ in ExportJob.Format.choices])
        parser.add_argument("--as-of", help="状态截至日期 YYYY-MM-DD（留空为当前状态）")
        parser.add_argument("--regulation", default="", help="法规代码（默认为最先导入的法规）")
        parser.add_argument("--department", default="", help="责任单位机构代码，如 JN-DSJ")
        parser.add_argument("--chapter", type=int, help="章序号")
        parser.add_argument("--status", default="", help="状态：not_started / in_progress / submitted / verified")
        parser.add_argument("--due-from", help="完成期限起 YYYY-MM-DD")
        parser.add_argument("--due-to", help="完成期限止 YYYY-MM-DD")
        parser.add_argument("--user", help="以该用户名义导出（按其权限限定范围）；留空则以系统名义导出全部")
        parser.add_argument("-o", "--output", required=True, help="输出文件路径")

    def handle(self, *args, **opts):
        user = None
        if opts.get("user"):
            user = User.objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"用户不存在：{opts['user']}")
        filters = ReportFilters(
            department=opts["department"] or "",
            chapter=opts.get("chapter"),
            status=opts["status"] or "",
            due_from=_date(opts["due_from"]) if opts.get("due_from") else None,
            due_to=_date(opts["due_to"]) if opts.get("due_to") else None,
            as_of=_date(opts["as_of"]) if opts.get("as_of") else None,
            regulation=opts["regulation"] or "",
        )
        fmt = opts["format"]
        regulation = None
        if opts.get("regulation"):
            regulation = Regulation.objects.filter(code=opts["regulation"]).first()
            if regulation is None:
                raise CommandError(f"法规不存在：{opts['regulation']}")
        total = None
        try:
            ctx = services.report_context(user=user, filters=filters, regulation=regulation)
            if fmt == ExportJob.Format.PDF:
                total = services.report_is_large(ctx=ctx)[1]
        except services.ReportError as err:
            raise CommandError(err.message) from err
        services.report_record_export(ctx=ctx, fmt=fmt, user=user)
        target = Path(opts["output"]).resolve()
        # Same rule as the worker: write beside the target, rename when complete.
        with write_whole(target) as out:
            result = services.report_write(ctx=ctx, fmt=fmt, out=out, total=total)
        written = getattr(result, "total", None)
        count = f"，共 {written} 项义务" if written is not None else ""
        if services.report_format(fmt=fmt, total=total)[2] != services.FORMATS[fmt][2]:
            count += "（超过 PDF 单册上限，已按责任单位分册并打包为 zip）"
        self.stdout.write(self.style.SUCCESS(f"已导出 {target}{count}（状态截至 {ctx.on.isoformat()}）。"))
