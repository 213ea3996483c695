from django.core.management.base import BaseCommand, CommandError

from obligations import audit


class Command(BaseCommand):
    help = "逐条校验审计记录的摘要链，报告第一处断裂（断裂时以非零状态退出）。"

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=2000, help="每批读取的记录数")

    def handle(self, *args, batch_size: int = 2000, **options):
        result = audit.verify_chain(batch_size=batch_size)
        if not result.ok:
            raise CommandError(
                f"审计链校验失败：第 {result.broken_id} 号记录处断裂（{result.reason}）；"
                f"此前 {result.checked} 条记录校验通过。"
            )
        if result.checked == 0:
            self.stdout.write("审计链为空，无需校验。")
            return
        self.stdout.write(self.style.SUCCESS(f"审计链完整：共 {result.checked} 条记录，链头摘要 {result.head}。"))
