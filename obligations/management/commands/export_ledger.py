from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Department, User
from core.errors import ServiceError
from core.files import write_whole
from obligations import ledger


class Command(BaseCommand):
    help = "导出某单位的义务落实台账（xlsx）：每项义务一行，只读列锁定，填报列可填写；导出记入审计记录。"

    def add_arguments(self, parser):
        parser.add_argument("--department", required=True, help="单位机构代码，如 JN-DSJ")
        parser.add_argument("--user", help="以该用户名义导出（按其权限）；留空则以系统名义导出")
        parser.add_argument("-o", "--output", required=True, help="输出文件路径（.xlsx）")

    def handle(self, *args, **opts):
        department = Department.objects.filter(code=opts["department"]).first()
        if department is None:
            raise CommandError(f"机构代码不存在：{opts['department']}")
        user = None
        if opts.get("user"):
            user = User.objects.filter(username=opts["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"用户不存在或已停用：{opts['user']}")
        target = Path(opts["output"]).resolve()
        try:
            with write_whole(target) as out:
                rows = ledger.ledger_export(actor=user, department=department, out=out)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"已导出 {target}：{department.name}，共 {rows} 项义务。"))
