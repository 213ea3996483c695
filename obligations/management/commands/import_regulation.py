import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import ServiceError
from obligations.models import Carryover
from obligations.seeding import import_regulation
from obligations.services.amendments import find_regulation, regulation_amend
from regulations.importing import preview, preview_amendment
from regulations.lineage import LABELS, diff, diff_text
from regulations.models import RegulationVersion
from regulations.parser import RegulationFormatError, article_label, citation
from regulations.readers import FORMATS, read_regulation_source
from regulations.registry import database_ready, load_departments

MSG_MIGRATE_FIRST = "数据库尚未初始化，请先运行：python manage.py migrate"


class Command(BaseCommand):
    help = (
        "导入法规：解析条文，提取“应当”条款，为每个责任单位生成督办义务。"
        "支持 .txt/.md、.docx、PDF（带文字层）和网页（.html）。"
    )
    requires_system_checks = []  # a dry run must work before migrate; checks are for the server

    def add_arguments(self, parser):
        parser.add_argument("path", help="法规文件：.txt/.md（UTF-8）、.docx、PDF 或 .html")
        parser.add_argument("--code", help="法规代码（默认取文件名）")
        parser.add_argument("--dry-run", action="store_true", help="只解析，不写入数据库（未执行 migrate 时也可用）")
        parser.add_argument("--json", action="store_true", help="以 JSON 输出提取的条款（配合 --dry-run）")
        parser.add_argument("--amends", help="作为修订导入：被修改的法规（名称、代码或编号）")
        parser.add_argument("--effective", help="修订后文本的施行日期 YYYY-MM-DD（配合 --amends）")
        parser.add_argument(
            "--kind", choices=["修正", "修订"], default="修正", help="修正（默认）或修订（配合 --amends）"
        )
        parser.add_argument(
            "--lineage",
            help='更正的对应关系（配合 --amends）：JSON 列表，每项 ["类型", "原条.款.处", "新条.款.处"]',
        )

    def handle(self, *args, path, code=None, dry_run=False, json=False, amends=None, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"找不到文件：{path}")
        if not dry_run and not database_ready():
            raise CommandError(MSG_MIGRATE_FIRST)
        if amends is not None or options.get("effective"):
            corrections = _read_corrections(options.get("lineage"))
            return self._amend(file, amends, options.get("effective"), options["kind"], dry_run, json, corrections)
        try:
            source = read_regulation_source(file)
            if dry_run:
                clauses = preview(source.text, source_format=source.format)
            else:
                load_departments()
                report = import_regulation(source.text, code=code or file.stem)
        except RegulationFormatError as exc:
            raise CommandError(f"无法导入 {file.name}：{exc.args[0]}") from exc

        if dry_run:
            if json:
                self.stdout.write(_json_dumps(clauses))
            else:
                for c in clauses:
                    bodies = "、".join(c["departments"]) or "（不分配）"
                    self.stdout.write(f"{citation(article_label(c['article']), c['paragraph'])} [{c['kind']}] {bodies}")
                self.stdout.write(f"共 {len(clauses)} 条款（来源：{FORMATS[source.format]}；未写入数据库）")
            return
        self._print_report(report)

    def _amend(self, file: Path, amends, effective, kind: str, dry_run: bool, as_json: bool, corrections=None):
        if not amends:
            raise CommandError("--effective 须与 --amends 一同使用：--amends 指定被修改的法规")
        if not database_ready():
            raise CommandError(MSG_MIGRATE_FIRST)
        regulation = find_regulation(amends)
        if regulation is None:
            raise CommandError(f"未找到法规：{amends}（请给出已导入法规的名称、代码或编号）")
        try:
            day = dt.date.fromisoformat(effective or "")
        except ValueError:
            raise CommandError("请用 --effective YYYY-MM-DD 给出修订后文本的施行日期") from None
        kinds = {"修正": RegulationVersion.Kind.AMENDED, "修订": RegulationVersion.Kind.REVISED}
        try:
            source = read_regulation_source(file)
            if dry_run:
                _, _, lineage = preview_amendment(source.text, regulation=regulation, corrections=corrections)
            else:
                load_departments()
                result = regulation_amend(
                    regulation=regulation,
                    text=source.text,
                    effective=day,
                    actor=None,
                    kind=kinds[kind],
                    corrections=corrections,
                )
                lineage = result.lineage
        except RegulationFormatError as exc:
            raise CommandError(f"无法导入 {file.name}：{exc.args[0]}") from exc
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        if as_json:
            self.stdout.write(_json_dumps(lineage_to_json(lineage)))
            return
        for link in lineage.links:
            old = link.old.citation if link.old else "—"
            new = link.new.citation if link.new else "—"
            line = f"[{link.label}] {old} → {new}"
            if link.kind not in ("unchanged",):
                line += f"：{diff_text(link.old.text if link.old else '', link.new.text if link.new else '')}"
            self.stdout.write(line)
        counts = "，".join(f"{LABELS[k]} {n}" for k, n in lineage.counts().items())
        if dry_run:
            self.stdout.write(f"《{regulation.title}》修订对照：{counts}（未写入数据库）")
            return
        outcomes = "，".join(f"{label} {result.outcomes.get(value, 0)}" for value, label in _outcome_labels())
        if result.pending:
            self.stdout.write(
                self.style.SUCCESS(
                    f"已确认《{result.regulation.title}》的{result.amendment.get_kind_display()}，"
                    f"自 {day:%Y-%m-%d} 起施行（待生效）：{counts}；届时义务结转：{outcomes}。"
                    "在此之前各项义务按现行条文执行，施行之日由定时任务（或 manage.py apply_amendments）结转"
                )
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"已导入《{result.regulation.title}》{result.version.label}，自 {day:%Y-%m-%d} 起施行：{counts}；"
                f"义务结转：{outcomes}"
            )
        )

    def _print_report(self, report):
        reg = report.regulation
        if report.created:
            self.stdout.write(self.style.SUCCESS(f"已导入《{reg.title}》：生成义务 {report.obligations_created} 项"))
        elif report.unchanged:
            self.stdout.write(f"《{reg.title}》文本无变化，未作修改")
        else:
            self.stdout.write(self.style.SUCCESS(f"已更新《{reg.title}》"))
            for label, rows in (("新增", report.added), ("修改", report.changed), ("删除", report.removed)):
                for row in rows:
                    self.stdout.write(f"  {label}：{row}")
            for row in report.superseded:
                self.stdout.write(f"  已有进展，保留并标记为废止：{row}")
            if report.obligations_created:
                self.stdout.write(f"  新生成义务 {report.obligations_created} 项")
        for row in report.unresolved:
            self.stdout.write(self.style.WARNING(f"  未能识别的主体（待确认，暂不生成义务）：{row}"))
        if report.proposed:
            names = "、".join(report.proposed)
            self.stdout.write(self.style.WARNING(f"  已提交管理员确认的新机构：{names}（管理后台 › 待确认机构）"))


def _read_corrections(path: str | None) -> list[tuple] | None:
    if not path:
        return None
    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"无法读取对应关系更正 {Path(path).name}：{exc}") from exc
    if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == 3 for r in rows):
        raise CommandError("对应关系更正应为 JSON 列表，每项 [类型, 原位置, 新位置]")
    return [tuple(r) for r in rows]


def _outcome_labels():
    return Carryover.Outcome.choices


def lineage_to_json(lineage) -> dict:
    def duty(d):
        return None if d is None else {"citation": d.citation, "ref": d.ref, "text": d.text}

    return {
        "counts": lineage.counts(),
        "links": [
            {
                "kind": link.kind,
                "label": link.label,
                "score": round(link.score, 3),
                "old": duty(link.old),
                "new": duty(link.new),
                "diff": [
                    {"op": op, "text": text}
                    for op, text in diff(link.old.text if link.old else "", link.new.text if link.new else "")
                ],
            }
            for link in lineage.links
        ],
    }


def _json_dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
