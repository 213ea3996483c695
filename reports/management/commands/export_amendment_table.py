from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from obligations.services.amendments import find_regulation
from reports import amendments


class Command(BaseCommand):
    help = "导出修订对照表（XLSX 或 PDF）：原条款与新条款、原条文与新条文、对应关系、义务处理情况。"

    def add_arguments(self, parser):
        parser.add_argument("regulation", help="法规名称、代码或编号")
        parser.add_argument("output", help="输出文件（.xlsx 或 .pdf）")
        parser.add_argument("--regulation-version", type=int, dest="number", help="版本序号（默认为最新版本）")

    def handle(self, *args, regulation, output, number=None, **options):
        reg = find_regulation(regulation)
        if reg is None:
            raise CommandError(f"未找到法规：{regulation}")
        versions = reg.versions.order_by("-number")
        chosen = versions.filter(number=number).first() if number else versions.first()
        if chosen is None or chosen.number < 2:
            raise CommandError(f"《{reg.title}》没有该修订版本（现有 {versions.count()} 个版本，第1版为原始文本）")
        path = Path(output)
        writer = {".xlsx": amendments.write_xlsx, ".pdf": amendments.write_pdf}.get(path.suffix.lower())
        if writer is None:
            raise CommandError("输出文件应为 .xlsx 或 .pdf")
        with path.open("wb") as out:
            count = writer(chosen, out)
        self.stdout.write(f"已导出{amendments.title_of(chosen)}：{count} 行 → {path.name}")
