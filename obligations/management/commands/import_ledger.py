from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from core.errors import ServiceError
from core.files import write_whole
from obligations import ledger
from obligations.ledger_returned import ledger_returned


class Command(BaseCommand):
    help = (
        "导入填报后的台账：逐行经权限、版本、内容校验后记录进展、佐证和状态申请；"
        "任一行有误则整份不导入并以非零状态退出。--dry-run 只预览。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="台账文件（.xlsx）")
        parser.add_argument("--user", required=True, help="以该用户名义导入（按其权限）")
        parser.add_argument("--dry-run", action="store_true", help="只预览每行将发生的变更，不写入")
        parser.add_argument(
            "--returned",
            metavar="FILE.xlsx",
            help="台账未能导入时，将带入所填内容、标出需核对行的新台账写入该文件（导入成功时不写）",
        )

    def handle(self, *args, **opts):
        user = User.objects.filter(username=opts["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"用户不存在或已停用：{opts['user']}")
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        if path.stat().st_size > ledger.MAX_BYTES:
            raise CommandError(f"文件过大，台账文件不应超过 {ledger.MAX_BYTES // 1024 // 1024} MB")
        data = path.read_bytes()
        try:
            result = ledger.ledger_import(actor=user, data=data, file_name=path.name, apply=not opts["dry_run"])
        except ledger.LedgerRefused as exc:
            # Row-level details (the cells with formulas) follow the reason.
            lines = [str(ledger.RowError(**e)) for e in exc.details.get("errors", []) if e["row"]]
            raise CommandError("\n".join([f"台账未导入：{exc.message}", *lines])) from exc
        except ServiceError as exc:
            raise CommandError(f"台账未导入：{exc.message}") from exc
        if not result.ok:
            # The outcome first, then what to fix; no row is listed as if it had been done.
            self.stderr.write(result.summary())
            for error in result.errors:
                self.stderr.write(str(error))
            if opts["returned"]:
                self._write_returned(user, data, path.name, Path(opts["returned"]).resolve())
            raise CommandError(result.summary())
        if opts["dry_run"]:
            self.stdout.write("预览（未写入）：")
        for plan in result.rows:
            where = f"第 {plan.row} 行 {plan.citation}".rstrip()
            for change in plan.changes:
                self.stdout.write(f"{where}：{change}")
            if plan.skipped:
                self.stdout.write(f"{where}：{plan.skipped}")
        self.stdout.write(self.style.SUCCESS(result.summary() + ("（预览，未写入）" if opts["dry_run"] else "")))

    def _write_returned(self, user, data: bytes, file_name: str, target: Path) -> None:
        try:
            with write_whole(target) as out:
                returned = ledger_returned(actor=user, data=data, out=out, file_name=file_name)
        except ServiceError as exc:
            self.stderr.write(f"未生成新台账：{exc.message}")
            return
        self.stderr.write(f"新台账已写入 {target}：{returned.summary()}")
