from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from obligations import audit


class Command(BaseCommand):
    help = (
        "逐条校验审计记录的摘要链，并与锚点核对：报告载明的链头（--expect-head）、数据库中的签名检查点、"
        "库外检查点日志。发现断裂、缺失或改写时以非零状态退出，并指明所涉记录。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=2000, help="每批读取的记录数")
        parser.add_argument(
            "--expect-head",
            metavar="N:DIGEST",
            help="报告载明的链头（“第 N 条记录，SHA256 <摘要>”写作 N:<摘要>）：第 N 条记录须存在且摘要相同",
        )
        parser.add_argument(
            "--checkpoint-log",
            action="append",
            type=Path,
            metavar="FILE",
            help="要核对的检查点日志（可多次给出，如从其他主机取回的副本）；默认 AUDIT_CHECKPOINT_LOG",
        )

    def handle(self, *args, batch_size: int = 2000, expect_head=None, checkpoint_log=None, **options):
        try:
            expected = audit.parse_expected_head(expect_head) if expect_head else None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        result = audit.verify_anchors(expect_head=expected, log_paths=checkpoint_log, batch_size=batch_size)
        chain = result.chain
        failures = []
        if not chain.ok:
            failures.append(f"第 {chain.broken_id} 号记录处断裂（{chain.reason}）；此前 {chain.checked} 条记录校验通过")
        failures += result.problems
        if failures:
            raise CommandError("审计链校验失败：\n" + "\n".join(f"- {line}" for line in failures))
        if chain.checked == 0:
            self.stdout.write("审计链为空，无需校验。")
            return
        parts = [f"与报告载明的链头（第 {expected[0]} 条记录）相符"] if expected else []
        if result.checkpoints or result.logged:
            parts.append(f"与签名检查点 {result.checkpoints} 个、检查点日志 {result.logged} 条相符")
        else:
            parts.append("尚无签名检查点（链尾被截去时无从发现）")
        head = audit.head_statement(chain.head_id, chain.head_algorithm, chain.head)
        summary = f"审计链完整：共 {chain.checked} 条记录，链头{head}；{'；'.join(parts)}。"
        self.stdout.write(self.style.SUCCESS(summary))
