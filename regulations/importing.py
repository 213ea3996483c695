"""Import a regulation's text as data: versions, chapters, articles, paragraphs, clauses and remits.

`import_text` imports a regulation's first text; running it again on the same text changes nothing
but what the registry has learnt since (a body a duty names, now confirmed). Another text under a
known title is refused (`AmendmentRequired`): an amended text is a new version, imported with
`import_amendment`, which adds the version's own chapters, articles and clauses beside the old
ones, matches each duty to the old text (regulations.lineage) and retires the old clauses. The
text under an existing obligation is never rewritten; the work floor carries the obligations over
(obligations.services.amendments). Each import hands the caller every clause with the bodies that
carry it, so that the work floor (obligations.seeding) can create, keep or supersede obligations.
"""

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max

from accounts.models import Department
from core import clock

from .lineage import Duty, Lineage, correct, match
from .models import (
    Article,
    BodyProposal,
    Chapter,
    Clause,
    Paragraph,
    Regulation,
    RegulationVersion,
    StandingResponsibility,
)
from .parser import (
    DUTY,
    ExtractedClause,
    ParsedRegulation,
    RegulationFormatError,
    article_label,
    citation,
    extract_clauses,
    extract_remits,
    parse_regulation,
)
from .registry import build_registry, database_ready, proposed_level_and_kind, registry_from_file

EFFECTIVE_DATE_RE = re.compile(r"自(\d{4})年(\d{1,2})月(\d{1,2})日起施行")
DATE_RE = r"(\d{4})年(\d{1,2})月(\d{1,2})日"
ADOPTED_RE = re.compile(DATE_RE + r"[^\n]*?(?:通过|修正|修订)")
PROMULGATED_RE = re.compile(DATE_RE + r"[^\n]*?公布")


class AmendmentRequired(RegulationFormatError):
    """Another text under the title of a regulation already imported: an amendment, not an import."""


def msg_amendment_required(title: str) -> str:
    return (
        f"《{title}》已经导入，本文件与现行文本不同。修正或修订后的文本请作为新版本导入："
        f'import_regulation 文件 --amends "{title}" --effective 施行日期（YYYY-MM-DD），'
        "原有义务将逐条结转，不会直接改写已有义务的条文"
    )


@dataclass
class SyncedClause:
    """A clause of the text as stored, with the bodies that carry it (none unless it is a duty)."""

    clause: Clause
    responsible: list[Department]
    cooperating: list[Department]


@dataclass
class ImportReport:
    regulation: Regulation | None = None
    created: bool = False
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    proposed: list[str] = field(default_factory=list)  # bodies newly proposed for the registry
    clauses: list[SyncedClause] = field(default_factory=list)
    dropped: list[Clause] = field(default_factory=list)  # clauses gone from the text, now superseded
    dropped_articles: set[int] = field(default_factory=set)  # article numbers gone from the text
    # Filled in by the work floor (obligations.seeding): what the import did to the obligations.
    superseded: list[str] = field(default_factory=list)
    obligations_created: int = 0
    # An amendment (import_amendment): the version added, the one it amends, its old clauses and
    # how each duty of the new text matches them.
    version: RegulationVersion | None = None
    previous: RegulationVersion | None = None
    old_clauses: list[Clause] = field(default_factory=list)
    lineage: Lineage | None = None

    @property
    def unchanged(self) -> bool:
        return not (self.created or self.added or self.changed or self.removed)


def effective_date_of(parsed: ParsedRegulation) -> dt.date | None:
    for article in reversed(parsed.articles):
        match = EFFECTIVE_DATE_RE.search(article.text)
        if match:
            try:
                return dt.date(*map(int, match.groups()))
            except ValueError:
                return None
    return None


def _date(match_: re.Match | None) -> dt.date | None:
    if match_ is None:
        return None
    try:
        return dt.date(*map(int, match_.groups()[:3]))
    except ValueError:
        return None


def dates_of(parsed: ParsedRegulation) -> tuple[dt.date | None, dt.date | None]:
    """通过 (the latest adoption, 修正 or 修订 the front matter records) and 公布 dates."""
    adopted = list(ADOPTED_RE.finditer(parsed.preamble or ""))
    return _date(adopted[-1] if adopted else None), _date(PROMULGATED_RE.search(parsed.preamble or ""))


def clause_to_dict(clause: ExtractedClause, names: dict[str, str], source_format: str = "txt") -> dict:
    """The dry-run JSON shape of one extracted clause."""
    return {
        "source_format": source_format,
        "article": clause.article,
        "paragraph": clause.paragraph,
        "ordinal": clause.ordinal,
        "text": clause.text,
        "subject": clause.subject,
        "departments": [names.get(code, code) for code in clause.departments],
        "cooperating": [names.get(code, code) for code in clause.cooperating],
        "kind": clause.kind,
        "unresolved": clause.unresolved,
    }


def _registry():
    if database_ready() and Department.objects.exists():
        return build_registry()
    return registry_from_file()[0]


def lineage_of_texts(old_text: str, new_text: str) -> Lineage:
    """How each duty of `new_text` matches `old_text`: two files, no database needed."""
    registry = _registry()
    old, new = (extract_clauses(parse_regulation(t), registry) for t in (old_text, new_text))
    return match([duty_of_extracted(c) for c in old], [duty_of_extracted(c) for c in new])


def preview(text: str, *, source_format: str = "txt") -> list[dict]:
    """The clauses an import would store, without writing anything.

    Before ``migrate`` (or with no database at all) the registry comes from the registry file, so
    a dry run works on a fresh checkout.
    """
    parsed = parse_regulation(text)
    if database_ready() and Department.objects.exists():
        registry = build_registry()
        names = dict(Department.objects.values_list("code", "name"))
    else:
        registry, names = registry_from_file()
    return [clause_to_dict(c, names, source_format) for c in extract_clauses(parsed, registry)]


@dataclass
class ProposedBody:
    """A phrase a duty names that the registry does not know, and what the import would propose."""

    name: str
    level: str  # Department.Level, as proposed
    kind: str  # Department.Kind, as proposed
    status: str  # "new" (the import would propose it) or the BodyProposal status it already has
    citations: list[str] = field(default_factory=list)

    @property
    def level_label(self) -> str:
        return Department.Level(self.level).label

    @property
    def kind_label(self) -> str:
        return Department.Kind(self.kind).label

    @property
    def status_label(self) -> str:
        if self.status == "new":
            return "将提请确认（新称谓）"
        return BodyProposal.Status(self.status).label


@dataclass
class DryRun:
    """What an import of a text would do, written nowhere: the preview the lead and the admin
    confirm (every clause with its citation and bodies; every unknown phrase with its proposal)."""

    title: str
    effective_date: dt.date | None
    exists: bool  # a regulation of this title is already stored (the import updates it)
    clauses: list[dict]
    proposals: list[ProposedBody]

    @property
    def duties(self) -> list[dict]:
        return [c for c in self.clauses if c["kind"] == DUTY]

    @property
    def waiting(self) -> int:
        return sum(1 for c in self.duties if c["unresolved"])


def dry_run(text: str, *, source_format: str = "txt") -> DryRun:
    """The import of `text` as it would run now, without writing anything (needs the database)."""
    parsed = parse_regulation(text)
    clauses = preview(text, source_format=source_format)
    for clause in clauses:
        clause["citation"] = citation(article_label(clause["article"]), clause["paragraph"])
    known = {p.name: p for p in BodyProposal.objects.all()}
    proposals: dict[str, ProposedBody] = {}
    for clause in clauses:
        if clause["kind"] != DUTY:
            continue
        for name in clause["unresolved"]:
            body = proposals.get(name)
            if body is None:
                existing = known.get(name)
                if existing is not None:
                    body = ProposedBody(name, existing.level, existing.kind, existing.status)
                else:
                    body = ProposedBody(name, *proposed_level_and_kind(name), "new")
                proposals[name] = body
            body.citations.append(clause["citation"])
    return DryRun(
        title=parsed.title,
        effective_date=effective_date_of(parsed),
        exists=Regulation.objects.filter(title=parsed.title).exists(),
        clauses=clauses,
        proposals=list(proposals.values()),
    )


def _cite(article: int, paragraph: int, ordinal: int) -> str:
    return f"{citation(article_label(article), paragraph)}（第{ordinal}处）"


def _new_version(regulation: Regulation, parsed: ParsedRegulation, text: str, sha: str, **fields):
    adopted, promulgated = dates_of(parsed)
    number = (regulation.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    return RegulationVersion.objects.create(
        regulation=regulation,
        number=number,
        source_text=text,
        source_sha256=sha,
        adopted_on=adopted,
        promulgated_on=promulgated,
        **fields,
    )


def current_version(regulation: Regulation) -> RegulationVersion:
    """The regulation's latest version; a regulation stored before versions existed (or built by
    hand) gets its first one here, holding every article without a version."""
    version = regulation.current_version
    if version is None:
        version = RegulationVersion.objects.create(
            regulation=regulation,
            number=1,
            source_text=regulation.source_text,
            source_sha256=regulation.source_sha256,
            effective_on=regulation.effective_date,
        )
        Chapter.objects.filter(regulation=regulation, version__isnull=True).update(version=version)
        Article.objects.filter(regulation=regulation, version__isnull=True).update(version=version)
    return version


@transaction.atomic
def import_text(text: str, *, code: str) -> ImportReport:
    parsed = parse_regulation(text)
    registry = build_registry()
    extracted = extract_clauses(parsed, registry)
    remits = extract_remits(parsed, registry)
    depts = {d.code: d for d in Department.objects.all()}
    report = ImportReport()

    regulation = Regulation.objects.filter(title=parsed.title).first()
    source_sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if regulation is None:
        effective = effective_date_of(parsed)
        regulation = Regulation.objects.create(
            code=code,
            title=parsed.title,
            preamble=parsed.preamble,
            effective_date=effective,
            source_text=text,
            source_sha256=source_sha,
        )
        version = _new_version(
            regulation, parsed, text, source_sha, kind=RegulationVersion.Kind.ENACTED, effective_on=effective
        )
        report.created = True
    else:
        version = current_version(regulation)
        if version.source_sha256 != source_sha:
            # Nothing rewrites the text under an existing obligation: an amended text is a version.
            raise AmendmentRequired(msg_amendment_required(regulation.title))
    report.regulation = regulation
    report.version = version
    _sync_version(regulation, version, parsed, extracted, remits, depts, report)
    return report


def _sync_version(regulation, version, parsed, extracted, remits, depts, report: ImportReport) -> None:
    chapters = _sync_chapters(regulation, version, parsed)
    articles = _sync_articles(regulation, version, parsed, chapters)
    removed_articles = set(articles) - {a.number for a in parsed.articles}
    report.dropped_articles = removed_articles
    _sync_clauses(regulation, version, extracted, articles, depts, report)
    _sync_remits(regulation, version, remits, articles, depts)
    _propose_bodies(regulation, extracted, report)


def duty_of_clause(clause: Clause) -> Duty:
    return Duty(clause.pk, clause.article.number, clause.paragraph_number, clause.ordinal, clause.text, clause.citation)


def duty_of_extracted(clause: ExtractedClause) -> Duty:
    key = (clause.article, clause.paragraph, clause.ordinal)
    return Duty(key, *key, clause.text, citation(article_label(clause.article), clause.paragraph))


def _in_force_clauses(version: RegulationVersion) -> list[Clause]:
    clauses = list(
        Clause.objects.filter(article__version=version, superseded_at__isnull=True)
        .select_related("article")
        .order_by("article__number", "paragraph_number", "ordinal")
    )
    # One regulation (the version's): each clause's citation reads its title from this one
    # instance, not by a query per clause (thousands for a large regulation's amendment).
    regulation = version.regulation
    for clause in clauses:
        clause.regulation = regulation
    return clauses


def _check_amendment(text: str, parsed: ParsedRegulation, regulation: Regulation) -> str:
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    known = regulation.versions.filter(source_sha256=sha).first()
    if known is not None:
        raise RegulationFormatError(f"该文本已是《{regulation.title}》的{known.label}，无需再次导入")
    if parsed.title != regulation.title and Regulation.objects.filter(title=parsed.title).exists():
        raise RegulationFormatError(
            f"文本标题为《{parsed.title}》，与另一部已导入的法规同名，不能作为《{regulation.title}》的修订"
        )
    return sha


def _check_related(parsed: ParsedRegulation, title: str, lineage: Lineage) -> None:
    """A text under another title whose duties match none of the regulation's is not its amendment."""
    if parsed.title == title:
        return
    has_old = any(link.old is not None for link in lineage.links)
    if has_old and not any(link.old is not None and link.new is not None for link in lineage.links):
        raise RegulationFormatError(
            f"文本《{parsed.title}》与《{title}》没有相同或相近的条款，不像是它的修正或修订文本"
        )


def preview_amendment(
    text: str, *, regulation: Regulation, corrections: list[tuple] | None = None
) -> tuple[ParsedRegulation, list[ExtractedClause], Lineage]:
    """What `import_amendment` would match (with the lead's corrections), without writing anything."""
    parsed = parse_regulation(text)
    _check_amendment(text, parsed, regulation)
    extracted = extract_clauses(parsed, build_registry())
    old = [duty_of_clause(c) for c in _in_force_clauses(current_version(regulation))]
    new = [duty_of_extracted(c) for c in extracted]
    lineage = match(old, new)
    _check_related(parsed, regulation.title, lineage)
    if corrections:
        try:
            lineage = correct(lineage, old, new, corrections)
        except ValueError as exc:
            raise RegulationFormatError(f"对应关系更正有误：{exc.args[0]}") from exc
    return parsed, extracted, lineage


@transaction.atomic
def import_amendment(
    text: str,
    *,
    regulation: Regulation,
    effective: dt.date,
    kind: str = RegulationVersion.Kind.AMENDED,
    corrections: list[tuple] | None = None,
    adopted_on: dt.date | None = None,
    promulgated_on: dt.date | None = None,
) -> ImportReport:
    """Add the amended text as the regulation's next version, beside the old one. 通过/公布 dates
    given override those read from the text's front matter.

    The new version gets its own chapters, articles and clauses; the old version's clauses stay
    as they are (the obligations on them keep their text and history) and are marked superseded.
    `report.lineage` matches each duty of the new text to the old (keys: clause ids)."""
    parsed = parse_regulation(text)
    sha = _check_amendment(text, parsed, regulation)
    registry = build_registry()
    extracted = extract_clauses(parsed, registry)
    remits = extract_remits(parsed, registry)
    depts = {d.code: d for d in Department.objects.all()}
    previous = current_version(regulation)
    old_clauses = _in_force_clauses(previous)
    old_title = regulation.title
    version = _new_version(regulation, parsed, text, sha, kind=kind, effective_on=effective)
    if adopted_on or promulgated_on:
        version.adopted_on = adopted_on or version.adopted_on
        version.promulgated_on = promulgated_on or version.promulgated_on
        version.save(update_fields=["adopted_on", "promulgated_on"])
    regulation.title = parsed.title
    regulation.preamble = parsed.preamble
    regulation.effective_date = effective
    regulation.source_text = text
    regulation.source_sha256 = sha
    regulation.save()
    report = ImportReport(regulation=regulation, version=version, previous=previous, old_clauses=old_clauses)
    report.created = False
    _sync_version(regulation, version, parsed, extracted, remits, depts, report)
    report.added = []  # every clause of a new version is new to it: the lineage says what changed
    new = [duty_of_clause(synced.clause) for synced in report.clauses]
    old = [duty_of_clause(c) for c in old_clauses]
    report.lineage = match(old, new)
    _check_related(parsed, old_title, report.lineage)
    if corrections:
        try:
            report.lineage = correct(report.lineage, old, new, corrections)
        except ValueError as exc:
            raise RegulationFormatError(f"对应关系更正有误：{exc.args[0]}") from exc
    Clause.objects.filter(pk__in=[c.pk for c in old_clauses]).update(superseded_at=clock.now())
    return report


def _propose_bodies(regulation: Regulation, extracted: list[ExtractedClause], report: ImportReport) -> None:
    """Every body a duty names that the registry lacks becomes a proposal for the admin (once)."""
    known = set(BodyProposal.objects.values_list("name", flat=True))
    for clause in extracted:
        if clause.kind != DUTY:
            continue
        for name in clause.unresolved:
            if name in known:
                continue
            level, kind = proposed_level_and_kind(name)
            BodyProposal.objects.create(name=name, level=level, kind=kind, regulation=regulation)
            known.add(name)
            report.proposed.append(name)


def _sync_chapters(regulation: Regulation, version, parsed: ParsedRegulation) -> dict[int, Chapter]:
    existing = {c.number: c for c in version.chapters.all()}
    result = {}
    for pc in parsed.chapters:
        chapter = existing.pop(pc.number, None)
        if chapter is None:
            chapter = Chapter.objects.create(
                regulation=regulation, version=version, number=pc.number, label=pc.label, title=pc.title
            )
        elif (chapter.label, chapter.title) != (pc.label, pc.title):
            chapter.label, chapter.title = pc.label, pc.title
            chapter.save()
        result[pc.number] = chapter
    for chapter in existing.values():
        chapter.delete()  # articles keep living; their chapter link is set to null
    return result


def _sync_articles(regulation: Regulation, version, parsed: ParsedRegulation, chapters: dict) -> dict[int, Article]:
    existing = {a.number: a for a in version.articles.all()}
    result = {}
    for pa in parsed.articles:
        chapter = chapters.get(pa.chapter_number) if pa.chapter_number else None
        article = existing.pop(pa.number, None)
        if article is None:
            article = Article.objects.create(
                regulation=regulation, version=version, chapter=chapter, number=pa.number, label=pa.label, text=pa.text
            )
        elif (article.chapter_id, article.label, article.text) != (chapter and chapter.id, pa.label, pa.text):
            article.chapter, article.label, article.text = chapter, pa.label, pa.text
            article.save()
        paragraphs = {p.number: p for p in article.paragraphs.all()}
        for pp in pa.paragraphs:
            items = [{"number": i.number, "label": i.label, "text": i.text} for i in pa_items(pp)]
            paragraph = paragraphs.pop(pp.number, None)
            if paragraph is None:
                Paragraph.objects.create(article=article, number=pp.number, text=pp.text, items=items)
            elif (paragraph.text, paragraph.items) != (pp.text, items):
                paragraph.text, paragraph.items = pp.text, items
                paragraph.save()
        for paragraph in paragraphs.values():
            paragraph.delete()
        result[pa.number] = article
    # Articles gone from the text stay while clauses of theirs still hold obligations with
    # history; those clauses are superseded by _sync_clauses.
    for article in existing.values():
        result[article.number] = article
    return result


def pa_items(paragraph) -> list:
    return list(getattr(paragraph, "items", []) or [])


def _sync_clauses(regulation, version, extracted, articles, depts, report: ImportReport) -> None:
    now = clock.now()
    existing = {
        (c.article.number, c.paragraph_number, c.ordinal): c
        for c in Clause.objects.filter(article__version=version)
        .select_related("article")
        .prefetch_related("responsible", "cooperating")
    }
    for ec in extracted:
        key = (ec.article, ec.paragraph, ec.ordinal)
        cite = _cite(*key)
        if ec.unresolved:
            report.unresolved.append(f"{cite}：{'、'.join(ec.unresolved)}")
        responsible = [depts[c] for c in ec.departments if c in depts]
        cooperating = [depts[c] for c in ec.cooperating if c in depts]
        clause = existing.pop(key, None)
        if clause is None:
            clause = Clause.objects.create(
                regulation=regulation,
                article=articles[ec.article],
                paragraph_number=ec.paragraph,
                ordinal=ec.ordinal,
                text=ec.text,
                subject=ec.subject,
                kind=ec.kind,
                unresolved=ec.unresolved,
            )
            clause.responsible.set(responsible)
            clause.cooperating.set(cooperating)
            if not report.created:
                report.added.append(f"{cite}：{ec.text}")
        else:
            before = (
                clause.text,
                clause.subject,
                clause.kind,
                clause.unresolved,
                sorted(d.code for d in clause.responsible.all()),
                sorted(d.code for d in clause.cooperating.all()),
                clause.superseded_at,
            )
            after = (ec.text, ec.subject, ec.kind, ec.unresolved, sorted(ec.departments), sorted(ec.cooperating), None)
            if before == after:
                continue
            # A clause's words are never rewritten (an amended text is a new version): the same
            # text read again may only name its bodies anew.
            clause.subject, clause.kind, clause.unresolved = ec.subject, ec.kind, ec.unresolved
            clause.superseded_at = None
            clause.save()
            clause.responsible.set(responsible)
            clause.cooperating.set(cooperating)
            report.changed.append(f"{cite}：{ec.text}")
        report.clauses.append(SyncedClause(clause, responsible if ec.kind == Clause.Kind.DUTY else [], cooperating))

    for clause in existing.values():
        if clause.superseded_at is not None:
            continue
        report.removed.append(f"{_cite(clause.article.number, clause.paragraph_number, clause.ordinal)}：{clause.text}")
        clause.superseded_at = now
        clause.save(update_fields=["superseded_at"])
        report.dropped.append(clause)


def forget(report: ImportReport, clauses: list[Clause]) -> None:
    """Delete superseded clauses nothing refers to any more, then the articles gone from the text
    that no clause still needs."""
    Clause.objects.filter(pk__in=[c.pk for c in clauses]).delete()
    Article.objects.filter(
        regulation=report.regulation, version=report.version, number__in=report.dropped_articles, clauses__isnull=True
    ).delete()


def _sync_remits(regulation, version, remits, articles, depts) -> None:
    wanted = set()
    for remit in remits:
        for code in remit.departments:
            if code in depts and remit.article in articles:
                wanted.add((remit.article, remit.paragraph, code))
                StandingResponsibility.objects.update_or_create(
                    article=articles[remit.article],
                    paragraph_number=remit.paragraph,
                    department=depts[code],
                    defaults={"regulation": regulation, "text": remit.text},
                )
    for sr in regulation.remits.select_related("article", "department"):
        key = (sr.article.number, sr.paragraph_number, sr.department.code)
        if sr.article.version_id != version.pk or key not in wanted:
            sr.delete()
