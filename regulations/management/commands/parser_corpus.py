from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from regulations.corpus import DutiesFileError, hand_checked_texts, score
from regulations.parser import RegulationFormatError

DEFAULT_CORPUS = Path(settings.BASE_DIR) / "tests" / "corpus"


class Command(BaseCommand):
    help = "逐篇衡量条文解析：每篇人工核对的法规（NAME.txt 与 NAME.duties）的召回率、精确率、机构与款。"

    def add_arguments(self, parser):
        parser.add_argument("--path", default=str(DEFAULT_CORPUS), help="法规文本与 .duties 文件所在目录")
        parser.add_argument("--details", action="store_true", help="列出遗漏、多出和机构或款不符的义务")

    def handle(self, *args, path, details, **options):
        folder = Path(path)
        if not folder.is_dir():
            raise CommandError(f"目录不存在：{folder}")
        try:
            scores = [score(checked) for checked in hand_checked_texts(folder)]
        except (DutiesFileError, RegulationFormatError) as exc:
            raise CommandError(str(exc)) from exc
        if not scores:
            raise CommandError(f"目录中没有 .duties 文件：{folder}")
        self.stdout.write("法规\t原文应当\t解析应当\t应有义务\t解析义务\t召回率\t精确率\t机构正确\t款正确")
        for s in scores:
            self.stdout.write(
                f"{s.name}\t{s.shall_in_text}\t{s.shall_clauses}\t{s.expected}\t{s.found}\t"
                f"{s.recall:.2f}\t{s.precision:.2f}\t{s.bodies:.2f}\t{s.paragraphs:.2f}"
            )
            if details:
                for duty in s.missed:
                    self.stdout.write(f"  遗漏\t{duty.article}.{duty.paragraph}\t{' '.join(duty.bodies)}")
                for duty in s.extra:
                    self.stdout.write(f"  多出\t{duty.article}.{duty.paragraph}\t{' '.join(duty.bodies)}")
                for want, got in s.wrong:
                    self.stdout.write(
                        f"  不符\t{want.article}.{want.paragraph} {' '.join(want.bodies)}"
                        f"\t-> {got.article}.{got.paragraph} {' '.join(got.bodies)}"
                    )
