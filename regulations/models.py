"""The law as data: a regulation as imported, its chapters, articles, paragraphs (款) and the
应当 clauses extracted from them, the standing remits (负责) and the bodies a regulation names that
the registry lacks. Nothing here knows about the work done on a duty (obligations/).

The tables keep the names they had when these models lived in obligations/ (moved with
SeparateDatabaseAndState: no data was copied).
"""

import time
import uuid

from django.conf import settings
from django.db import models, transaction

from accounts.models import Department
from core import clock

from .parser import citation

# Whether more than one regulation is in force, as read at time.monotonic() (None: not read yet).
_many_kept: tuple[float, bool] | None = None
MANY_CACHE_SECONDS = 60


def many_regulations() -> bool:
    """Whether more than one regulation is in force (imported): then every citation, list, filter
    and report names the regulation of each row. Read at most once a minute per process; an
    import clears it at once in the process that made it (`regulations_changed`, regulations.apps).
    """
    global _many_kept
    now = time.monotonic()
    if _many_kept is not None and now - _many_kept[0] < MANY_CACHE_SECONDS:
        return _many_kept[1]
    many = len(Regulation.objects.order_by().values_list("pk", flat=True)[:2]) > 1
    _many_kept = (now, many)
    return many


def forget_many_regulations() -> None:
    global _many_kept
    _many_kept = None


def regulations_changed(**kwargs) -> None:
    """Signal receiver: forget now, and again when the saving transaction commits."""
    forget_many_regulations()
    transaction.on_commit(forget_many_regulations)


def cite(article_label: str, paragraph: int, regulation_title: str = "") -> str:
    """The citation as every page, notice, list and report shows it: 第二十七条第一款 while one
    regulation is in force, 《济南市数字经济促进条例》第二十七条第一款 once there are several."""
    return citation(article_label, paragraph, regulation_title if many_regulations() else "")


class Regulation(models.Model):
    code = models.SlugField("法规代码", max_length=100, unique=True)
    title = models.CharField("法规名称", max_length=200)
    preamble = models.TextField("题注", blank=True)
    effective_date = models.DateField("施行日期", null=True, blank=True)
    source_text = models.TextField("原始文本")
    source_sha256 = models.CharField("文本摘要", max_length=64)
    imported_at = models.DateTimeField("导入时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        db_table = "obligations_regulation"
        verbose_name = "法规"
        verbose_name_plural = "法规"
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    @property
    def current_version(self) -> "RegulationVersion | None":
        """The latest version: the text whose clauses carry the obligations."""
        return self.versions.order_by("-number").first()


class RegulationVersion(models.Model):
    """One text of a regulation as adopted: the first (制定) and each amendment (修正, 修订).

    Every chapter, article and clause belongs to one version; an amendment adds a version with its
    own clauses and never rewrites the text of an earlier one (obligations carry over clause by
    clause: obligations.services.amendments).
    """

    class Kind(models.TextChoices):
        ENACTED = "enacted", "制定"
        AMENDED = "amended", "修正"
        REVISED = "revised", "修订"

    regulation = models.ForeignKey(Regulation, verbose_name="法规", on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField("版本序号")
    kind = models.CharField("类型", max_length=16, choices=Kind.choices, default=Kind.ENACTED)
    source_text = models.TextField("原始文本")
    source_sha256 = models.CharField("文本摘要", max_length=64)
    adopted_on = models.DateField("通过日期", null=True, blank=True)
    promulgated_on = models.DateField("公布日期", null=True, blank=True)
    effective_on = models.DateField("施行日期", null=True, blank=True)
    imported_at = models.DateTimeField("导入时间", default=clock.now)

    class Meta:
        db_table = "regulations_version"
        verbose_name = "法规版本"
        verbose_name_plural = "法规版本"
        ordering = ["regulation", "number"]
        constraints = [models.UniqueConstraint(fields=["regulation", "number"], name="uniq_version_number")]

    def __str__(self) -> str:
        return f"{self.regulation.title}（{self.label}）"

    @property
    def label(self) -> str:
        """第2版（2024年修正）, as the pages and reports name a version."""
        year = (self.adopted_on or self.effective_on).year if (self.adopted_on or self.effective_on) else None
        made = f"{year}年{self.get_kind_display()}" if year else self.get_kind_display()
        return f"第{self.number}版（{made}）"


class Amendment(models.Model):
    """The lead's decision to amend a regulation: the amended text, from which day it is in force,
    the lead's corrections to the matching, and where it stands.

    Confirmed before its effective date, it waits (待生效): the obligations keep their text, citation,
    status and bodies, and `plan` says what will become of each (for the pages and the heads-up).
    On the effective date (Asia/Shanghai) the beat task or `manage.py apply_amendments` carries the
    obligations over exactly once (obligations.services.amendments), attributed to the lead who
    confirmed it; then `version` is the version it made. Confirmed on or after that day, it is
    applied at once. The lead may withdraw it while it waits.
    """

    class State(models.TextChoices):
        PENDING = "pending", "待生效"
        APPLIED = "applied", "已生效"
        WITHDRAWN = "withdrawn", "已撤回"

    regulation = models.ForeignKey(Regulation, verbose_name="法规", on_delete=models.CASCADE, related_name="amendments")
    kind = models.CharField("类型", max_length=16, choices=RegulationVersion.Kind.choices)
    source_text = models.TextField("修订后文本")
    source_sha256 = models.CharField("文本摘要", max_length=64)
    effective_on = models.DateField("施行日期")
    # 通过/公布 as the lead gave them (else read from the text's front matter when it is imported).
    adopted_on = models.DateField("通过日期", null=True, blank=True)
    promulgated_on = models.DateField("公布日期", null=True, blank=True)
    corrections = models.JSONField("对应关系更正", default=list, blank=True)
    plan = models.JSONField("结转预告", default=dict, blank=True)
    state = models.CharField("状态", max_length=16, choices=State.choices, default=State.PENDING)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="确认人",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    confirmed_at = models.DateTimeField("确认时间", default=clock.now)
    applied_at = models.DateTimeField("生效结转时间", null=True, blank=True)
    version = models.ForeignKey(
        RegulationVersion,
        verbose_name="所成版本",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="撤回人",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    withdrawn_at = models.DateTimeField("撤回时间", null=True, blank=True)
    withdraw_reason = models.CharField("撤回原因", max_length=300, blank=True)

    class Meta:
        verbose_name = "法规修订决定"
        verbose_name_plural = "法规修订决定"
        ordering = ["regulation", "id"]
        constraints = [
            # A second amendment may not wait beside the first: its matching would be against a
            # text that is about to change (obligations.services.amendments refuses it in words).
            models.UniqueConstraint(
                fields=["regulation"], condition=models.Q(state="pending"), name="one_pending_amendment"
            )
        ]
        indexes = [
            # The beat task (amendments_apply_due) looks for pending amendments that have come due.
            models.Index(fields=["state", "effective_on"], name="amendment_due"),
        ]

    def __str__(self) -> str:
        return f"{self.regulation.title}（{self.get_kind_display()}，{self.effective_on:%Y-%m-%d}起施行）"

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING


class Chapter(models.Model):
    regulation = models.ForeignKey(Regulation, verbose_name="法规", on_delete=models.CASCADE, related_name="chapters")
    version = models.ForeignKey(
        RegulationVersion,
        verbose_name="版本",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="chapters",
    )
    number = models.PositiveIntegerField("章序号")
    label = models.CharField("章", max_length=20)
    title = models.CharField("章名", max_length=100)

    class Meta:
        db_table = "obligations_chapter"
        verbose_name = "章"
        verbose_name_plural = "章"
        ordering = ["regulation", "number"]
        constraints = [
            models.UniqueConstraint(fields=["version", "number"], name="uniq_chapter_number_in_version"),
            models.UniqueConstraint(
                fields=["regulation", "number"], condition=models.Q(version__isnull=True), name="uniq_chapter_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.title}"


class Article(models.Model):
    regulation = models.ForeignKey(Regulation, verbose_name="法规", on_delete=models.CASCADE, related_name="articles")
    version = models.ForeignKey(
        RegulationVersion,
        verbose_name="版本",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="articles",
    )
    chapter = models.ForeignKey(
        Chapter, verbose_name="章", on_delete=models.SET_NULL, null=True, blank=True, related_name="articles"
    )
    number = models.PositiveIntegerField("条序号")
    label = models.CharField("条", max_length=20)
    text = models.TextField("条文")

    class Meta:
        db_table = "obligations_article"
        verbose_name = "条文"
        verbose_name_plural = "条文"
        ordering = ["regulation", "number"]
        constraints = [
            models.UniqueConstraint(fields=["version", "number"], name="uniq_article_number_in_version"),
            models.UniqueConstraint(
                fields=["regulation", "number"], condition=models.Q(version__isnull=True), name="uniq_article_number"
            ),
        ]

    def __str__(self) -> str:
        return self.label


class Paragraph(models.Model):
    article = models.ForeignKey(Article, verbose_name="条文", on_delete=models.CASCADE, related_name="paragraphs")
    number = models.PositiveIntegerField("款序号")
    text = models.TextField("款文")
    items = models.JSONField("项", default=list, blank=True)

    class Meta:
        db_table = "obligations_paragraph"
        verbose_name = "款"
        verbose_name_plural = "款"
        ordering = ["article", "number"]
        constraints = [models.UniqueConstraint(fields=["article", "number"], name="uniq_paragraph_number")]

    def __str__(self) -> str:
        return citation(self.article.label, self.number)


class Clause(models.Model):
    """One extracted 应当 (or 不得) clause, with its subject as written."""

    class Kind(models.TextChoices):
        DUTY = "duty", "政府职责"
        THIRD_PARTY = "third_party", "第三方义务"
        PRINCIPLE = "principle", "原则性规定"
        GENERAL = "general", "泛指主体"
        PROHIBITION = "prohibition", "禁止性规定"

    regulation = models.ForeignKey(Regulation, verbose_name="法规", on_delete=models.CASCADE, related_name="clauses")
    article = models.ForeignKey(Article, verbose_name="条文", on_delete=models.CASCADE, related_name="clauses")
    paragraph_number = models.PositiveIntegerField("款序号")
    ordinal = models.PositiveIntegerField("款内序号", default=1)
    text = models.TextField("条款内容")
    subject = models.CharField("主体（原文）", max_length=300)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    responsible = models.ManyToManyField(
        Department, verbose_name="责任单位", related_name="responsible_clauses", blank=True
    )
    cooperating = models.ManyToManyField(
        Department, verbose_name="协办单位", related_name="cooperating_clauses", blank=True
    )
    unresolved = models.JSONField("未识别主体", default=list, blank=True)
    superseded_at = models.DateTimeField("废止时间", null=True, blank=True)

    class Meta:
        db_table = "obligations_clause"
        verbose_name = "条款"
        verbose_name_plural = "条款"
        ordering = ["regulation", "article__number", "paragraph_number", "ordinal"]
        constraints = [
            models.UniqueConstraint(fields=["article", "paragraph_number", "ordinal"], name="uniq_clause_position")
        ]

    def __str__(self) -> str:
        return self.citation

    @property
    def awaits_confirmation(self) -> bool:
        """待确认: a duty naming a body the registry lacks, until the admin confirms or maps it."""
        return self.kind == self.Kind.DUTY and bool(self.unresolved) and self.superseded_at is None

    @property
    def citation(self) -> str:
        """第X条第Y款, as a civil servant cites it; with 《title》 before it when several
        regulations are in force (`cite`)."""
        if not many_regulations():
            return citation(self.article.label, self.paragraph_number)
        return cite(self.article.label, self.paragraph_number, self.regulation.title)

    @property
    def version(self) -> "RegulationVersion | None":
        """The version of the text this clause belongs to (through its article)."""
        return self.article.version


class StandingResponsibility(models.Model):
    """A 负责 remit (第五条): context for routing and for the lead's dashboard, not a duty to close."""

    regulation = models.ForeignKey(Regulation, verbose_name="法规", on_delete=models.CASCADE, related_name="remits")
    department = models.ForeignKey(Department, verbose_name="单位", on_delete=models.CASCADE, related_name="remits")
    article = models.ForeignKey(Article, verbose_name="条文", on_delete=models.CASCADE, related_name="remits")
    paragraph_number = models.PositiveIntegerField("款序号")
    text = models.TextField("职责")

    class Meta:
        db_table = "obligations_standingresponsibility"
        verbose_name = "法定职责"
        verbose_name_plural = "法定职责"
        constraints = [
            models.UniqueConstraint(fields=["article", "paragraph_number", "department"], name="uniq_remit_position")
        ]

    def __str__(self) -> str:
        return f"{self.department.short_name}: {self.text[:30]}"


class BodyProposal(models.Model):
    """A body a regulation names that the registry lacks: a proposed registry entry.

    The import proposes it (the name as written, level and kind read from its suffix); the admin
    confirms it as a new body, maps it onto an existing one, onto several, or onto a class of bodies
    (``services.body_proposal_confirm``, ``body_proposal_map``, ``body_proposal_map_several``,
    ``body_proposal_map_class``). Until then the duties naming it show as 待确认 and create no
    obligation; once decided, the name is a phrase of the body (or bodies, or the class's members
    as the class stands at each import) for every later import.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", "待确认"
        CONFIRMED = "confirmed", "已确认为新机构"
        MAPPED = "mapped", "已对应现有机构"
        MAPPED_SEVERAL = "mapped_several", "已对应多个机构"
        MAPPED_CLASS = "mapped_class", "已对应机构类别"

    name = models.CharField("法规中的称谓", max_length=300, unique=True)
    level = models.CharField("层级（建议）", max_length=16, choices=Department.Level.choices)
    kind = models.CharField("类型（建议）", max_length=16, choices=Department.Kind.choices)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PROPOSED)
    department = models.ForeignKey(
        Department, verbose_name="对应机构", on_delete=models.PROTECT, null=True, blank=True, related_name="proposals"
    )
    departments = models.ManyToManyField(
        Department, verbose_name="对应机构（多个）", related_name="shared_proposals", blank=True
    )
    body_class = models.ForeignKey(
        "BodyClass",
        verbose_name="对应机构类别",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposals",
    )
    regulation = models.ForeignKey(
        Regulation, verbose_name="首次出现于", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    proposed_at = models.DateTimeField("提出时间", default=clock.now)
    decided_at = models.DateTimeField("确认时间", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="确认人",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        db_table = "obligations_bodyproposal"
        verbose_name = "待确认机构"
        verbose_name_plural = "待确认机构"
        ordering = ["status", "name"]

    def __str__(self) -> str:
        return self.name

    def waiting_clauses(self) -> list[Clause]:
        """The duties naming this body (JSON containment is not portable to SQLite: filtered here)."""
        candidates = Clause.objects.filter(kind=Clause.Kind.DUTY, superseded_at__isnull=True).exclude(unresolved=[])
        return [c for c in candidates.select_related("article", "regulation") if self.name in c.unresolved]


# ---------------------------------------------------------------------------------------------
# Classes of bodies: a phrase the law uses for a set of bodies ("县级以上人民政府")
# ---------------------------------------------------------------------------------------------


class BodyClass(models.Model):
    """A class of bodies the law names by one phrase: "县级以上人民政府" is, in Jinan, the city
    government and every district and county government. Each member carries its own obligation.

    Seeded from the registry file (``classes`` in fixtures/departments.json) once; after that the
    admin owns the table (changes go through ``services.body_class_save``, audited) and every later
    import resolves the phrases to the members as they then stand.
    """

    name = models.CharField("类别名称", max_length=100, unique=True)
    phrases = models.JSONField("法规中的称谓", default=list, blank=True)
    members = models.ManyToManyField(Department, verbose_name="成员机构", related_name="body_classes", blank=True)
    zones_join = models.BooleanField(
        "功能区按设置一并承担",
        default=False,
        help_text="开启 ZONES_SHARE_DISTRICT_DUTIES 时，高新区、起步区、南部山区等功能区也是本类别的成员",
    )
    note = models.CharField("说明", max_length=200, blank=True)
    sort_order = models.PositiveIntegerField("排序", default=0)

    class Meta:
        verbose_name = "机构类别"
        verbose_name_plural = "机构类别"
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name

    def all_phrases(self) -> list[str]:
        """The class's name is always one of its phrases."""
        return [self.name, *(p for p in self.phrases if p != self.name)]

    def member_bodies(self) -> list[Department]:
        """The active members in registry order, with the zones when the city lets them share."""
        members = {d.pk: d for d in self.members.all() if d.active}  # all(): a prefetch serves it
        if self.zones_join and settings.ZONES_SHARE_DISTRICT_DUTIES:
            for zone in Department.objects.filter(active=True, level=Department.Level.ZONE):
                members.setdefault(zone.pk, zone)
        return sorted(members.values(), key=lambda d: (d.sort_order, d.code))


# ---------------------------------------------------------------------------------------------
# An uploaded regulation file between its upload and its confirmation
# ---------------------------------------------------------------------------------------------


class RegulationUpload(models.Model):
    """A regulation file the lead (or the admin) uploaded, kept until it is confirmed: the new
    regulation's import or an amendment of one. A person keeps one at a time (the next upload
    replaces it); the hourly clean-up removes those left for a day (obligations.tasks).

    A large file is read by a worker (obligations.regulation_upload): the row carries the progress
    the page polls, then the text read, or the error in Chinese. What is confirmed is exactly the
    text previewed."""

    class Purpose(models.TextChoices):
        IMPORT = "import", "导入法规"
        AMEND = "amend", "导入修正/修订文本"

    class Status(models.TextChoices):
        PENDING = "pending", "排队中"
        RUNNING = "running", "读取中"
        DONE = "done", "已就绪"
        FAILED = "failed", "读取失败"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="上传人", on_delete=models.CASCADE, related_name="+"
    )
    purpose = models.CharField("用途", max_length=16, choices=Purpose.choices)
    regulation = models.ForeignKey(
        Regulation, verbose_name="被修改的法规", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    file_name = models.CharField("文件名", max_length=255)
    source_format = models.CharField("文件格式", max_length=8, blank=True)
    data = models.BinaryField("文件内容（读取后清空）", blank=True, default=b"")
    params = models.JSONField("选项", default=dict, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING)
    stage = models.CharField("阶段", max_length=40, blank=True)
    done = models.PositiveIntegerField("已处理", default=0)
    total = models.PositiveIntegerField("总数", default=0)
    text = models.TextField("读出的文本", blank=True)
    preview = models.JSONField("预览", default=dict, blank=True)
    error = models.TextField("错误信息", blank=True)
    created_at = models.DateTimeField("上传时间", default=clock.now)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)

    class Meta:
        verbose_name = "待确认的法规文件"
        verbose_name_plural = "待确认的法规文件"
        # One upload per person: the next replaces it (obligations.regulation_upload.upload_create).
        constraints = [models.UniqueConstraint(fields=["owner"], name="uniq_regulation_upload_owner")]

    def __str__(self) -> str:
        return f"{self.file_name}（{self.get_status_display()}）"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0
