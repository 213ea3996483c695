import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from regulations.importing import lineage_of_texts
from regulations.lineage import KINDS, LABELS, score
from regulations.parser import RegulationFormatError
from regulations.readers import read_regulation_source


class Command(BaseCommand):
    help = (
        "比对同一法规的两个文本，逐条给出修订对应关系（未变、移动、文字修改、拆分、合并、新增、删除），"
        "并按人工核对的对应关系清单计算准确率（precision）和召回率（recall）。"
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("old", help="修订前的文本")
        parser.add_argument("new", help="修订后的文本")
        parser.add_argument(
            "--expected",
            required=True,
            help='人工核对的对应关系：JSON 列表，每项 ["类型", "原条.款.处", "新条.款.处"]，无对应时为 null',
        )
        parser.add_argument("--json", action="store_true", help="以 JSON 输出结果")

    def handle(self, *args, old, new, expected, json=False, **options):
        try:
            texts = [read_regulation_source(Path(p)).text for p in (old, new)]
            wanted = _read_expected(Path(expected))
        except RegulationFormatError as exc:
            raise CommandError(exc.args[0]) from exc
        lineage = lineage_of_texts(*texts)
        result = score(lineage, wanted)
        counts = lineage.counts()
        if json:
            self.stdout.write(
                _dumps(
                    {
                        "counts": counts,
                        "precision": round(result.precision, 4),
                        "recall": round(result.recall, 4),
                        "found": result.found,
                        "expected": result.expected,
                        "correct": result.correct,
                        "missing": result.missing,
                        "wrong": result.wrong,
                    }
                )
            )
            return
        self.stdout.write("，".join(f"{LABELS[k]} {counts[k]}" for k in KINDS))
        for row in result.missing:
            self.stdout.write(f"  漏配：{row}")
        for row in result.wrong:
            self.stdout.write(f"  误配：{row}")
        self.stdout.write(
            f"precision {result.precision:.4f}（{result.correct}/{result.found}），"
            f"recall {result.recall:.4f}（{result.correct}/{result.expected}）"
        )


def _read_expected(path: Path) -> list[tuple]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"无法读取对应关系清单 {path.name}：{exc}") from exc
    if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == 3 and r[0] in KINDS for r in rows):
        raise CommandError(
            f"对应关系清单 {path.name} 格式不对：应为 [类型, 原位置, 新位置] 的列表，类型为 {'、'.join(KINDS)}"
        )
    return [tuple(r) for r in rows]


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
