"""Output serializers describe rows; input serializers only check shapes (and the rules for typed
text and dates, core.validators). Rules live in services."""

import datetime as dt
import functools

from django.db import models
from rest_framework import serializers

from core.clock import today
from core.serializers import InputSerializer
from obligations import selectors
from obligations.models import (
    AuditEntry,
    DueDateChange,
    Evidence,
    ExtensionRequest,
    LightWindow,
    Milestone,
    Objection,
    Obligation,
    ProgressEntry,
    ReportingRequirement,
    light_of,
)
from obligations.models import days_left as days_left_on  # the fields below have the rules' names
from obligations.models import is_overdue as overdue_on
from regulations.models import cite
from regulations.parser import citation

STATUS_LABELS = dict(Obligation.Status.choices)


class DepartmentRefField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "code")
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)


# The model's date and time fields as ModelSerializer declares them (ISO 8601; times in the
# current time zone, Asia/Shanghai), shared instead of built per serializer.
_DATE, _MOMENT = serializers.DateField(), serializers.DateTimeField()


class ObligationListSerializer(serializers.ListSerializer):
    """A page of obligations as rows (values() rows of ObligationSerializer.VALUES, or instances
    made that row): the cooperating bodies of every row in one query."""

    def to_representation(self, data):
        items = data.all() if isinstance(data, models.Manager) else data
        rows = [item if isinstance(item, dict) else ObligationSerializer.row_of(item) for item in items]
        attach_cooperating_codes(rows)
        return super().to_representation(rows)


def attach_cooperating_codes(rows: list[dict]) -> None:
    """Give each row the `cooperating_codes` its query did not bring: one query for all of them."""
    missing = [row for row in rows if "cooperating_codes" not in row]
    if missing:
        codes = selectors.cooperating_codes(row["id"] for row in missing)
        for row in missing:
            row["cooperating_codes"] = codes.get(row["id"], [])


def _former_citation(row: dict) -> str:
    """`Obligation.former_citation` from a values() row."""
    label = row["former_clause__article__label"]
    if label is None:
        return ""
    old = citation(label, row["former_clause__paragraph_number"])
    return "" if old == citation(row["clause__article__label"], row["clause__paragraph_number"]) else f"原{old}"


class ObligationSerializer(serializers.ModelSerializer):
    """One obligation as the API shows it (list, detail and every write's answer).

    The declared fields are the contract (the schema, the generic DRF walk); `to_representation`
    writes the same values out directly from one row shape, because the generic walk (a source
    lookup, an attribute chain and a SkipField check per field per row) was most of a page's
    serialisation. A list hands it values() rows of VALUES; an instance (the detail, a write's
    answer) is first made that row (`row_of`). tests/test_api_obligations.py checks that the
    list, the detail and the generic walk give the same answer for every kind of row.
    """

    citation = serializers.CharField(read_only=True)
    regulation = serializers.CharField(source="clause.regulation.code", read_only=True, help_text="法规代码")
    regulation_title = serializers.CharField(source="clause.regulation.title", read_only=True)
    article = serializers.IntegerField(source="clause.article.number", read_only=True)
    chapter = serializers.IntegerField(source="clause.article.chapter.number", read_only=True, allow_null=True)
    clause_text = serializers.CharField(source="clause.text", read_only=True)
    department = DepartmentRefField()
    department_name = serializers.CharField(source="department.name", read_only=True)
    # Department codes in registry order (selectors.cooperating_codes; one query per page).
    cooperating = serializers.ListField(child=serializers.CharField(), source="cooperating_codes", read_only=True)
    status_display = serializers.SerializerMethodField()
    is_overdue = serializers.SerializerMethodField()
    days_left = serializers.SerializerMethodField()
    traffic_light = serializers.SerializerMethodField()
    # The regulation's version (1 = the text as first adopted; each 修正 or 修订 adds one) whose
    # clause the obligation answers to, the citation it had before an amendment moved it, and
    # whether the body is asked to review the duty's new words (待复核).
    regulation_version = serializers.IntegerField(
        source="clause.article.version.number", read_only=True, allow_null=True
    )
    former_citation = serializers.CharField(read_only=True)
    awaits_review = serializers.BooleanField(read_only=True)

    # The columns the representation reads (only() for one obligation).
    COLUMNS = (
        "id",
        "status",
        "due_date",
        "version",
        "missed_due_date",
        "submitted_at",
        "verified_at",
        "last_activity_at",
        "updated_at",
        "department__code",
        "department__name",
        "clause__text",
        "clause__paragraph_number",
        "clause__article__number",
        "clause__article__label",
        "clause__article__chapter__number",
        "clause__regulation__code",
        "clause__regulation__title",
        "clause__article__version__number",
        "former_clause__article__label",
        "former_clause__paragraph_number",
        "review_since",
    )
    # A list's rows as values(): the columns, the light and the urgency order's "late".
    VALUES = (*COLUMNS, "light", "late")

    class Meta:
        model = Obligation
        list_serializer_class = ObligationListSerializer
        fields = [
            "id",
            "citation",
            "regulation",
            "regulation_title",
            "article",
            "chapter",
            "clause_text",
            "department",
            "department_name",
            "cooperating",
            "status",
            "status_display",
            "due_date",
            "is_overdue",
            "days_left",
            "traffic_light",
            "missed_due_date",
            "version",
            "regulation_version",
            "former_citation",
            "awaits_review",
            "submitted_at",
            "verified_at",
            "last_activity_at",
            "updated_at",
        ]
        read_only_fields = fields

    @functools.cached_property
    def _on(self) -> dt.date:
        """Today, once per serialisation (many=True shares this serializer across the rows)."""
        return today()

    def to_representation(self, instance):
        row = instance if isinstance(instance, dict) else self.row_of(instance)
        attach_cooperating_codes([row])
        date, moment = _DATE.to_representation, _MOMENT.to_representation
        on, status, due, missed = self._on, row["status"], row["due_date"], row["missed_due_date"]
        return {
            "id": row["id"],
            "citation": cite(
                row["clause__article__label"], row["clause__paragraph_number"], row["clause__regulation__title"]
            ),
            "regulation": row["clause__regulation__code"],
            "regulation_title": row["clause__regulation__title"],
            "article": row["clause__article__number"],
            "chapter": row["clause__article__chapter__number"],
            "clause_text": row["clause__text"],
            "department": row["department__code"],
            "department_name": row["department__name"],
            "cooperating": row["cooperating_codes"],
            "status": status,
            "status_display": STATUS_LABELS.get(status, status),
            "due_date": date(due) if due is not None else None,
            "is_overdue": overdue_on(status, due, on),
            "days_left": days_left_on(due, on),
            "traffic_light": row["light"] or light_of(status, due, LightWindow.for_day(on)),
            "missed_due_date": date(missed) if missed is not None else None,
            "version": row["version"],
            "regulation_version": row["clause__article__version__number"],
            "former_citation": _former_citation(row),
            "awaits_review": row["review_since"] is not None,
            **{name: moment(row[name]) if row[name] is not None else None for name in self.MOMENTS},
        }

    MOMENTS = ("submitted_at", "verified_at", "last_activity_at", "updated_at")

    @staticmethod
    def row_of(obligation: Obligation) -> dict:
        """An instance as the values() row of VALUES (its `light` if the query annotated it)."""
        clause, department = obligation.clause, obligation.department
        article = clause.article
        former = obligation.former_clause
        row = {
            "clause__text": clause.text,
            "clause__paragraph_number": clause.paragraph_number,
            "clause__article__number": article.number,
            "clause__article__label": article.label,
            "clause__article__chapter__number": article.chapter.number if article.chapter_id is not None else None,
            "clause__regulation__code": clause.regulation.code,
            "clause__regulation__title": clause.regulation.title,
            "clause__article__version__number": article.version.number if article.version_id is not None else None,
            "former_clause__article__label": former.article.label if former is not None else None,
            "former_clause__paragraph_number": former.paragraph_number if former is not None else None,
            "department__code": department.code,
            "department__name": department.name,
            "light": getattr(obligation, "light", None),
        }
        row.update((name, getattr(obligation, name)) for name in ObligationSerializer.COLUMNS if name not in row)
        return row

    def get_status_display(self, obj) -> str:
        # The label from the choices: DRF inspects the signature of a callable source such as
        # get_status_display on every row.
        return STATUS_LABELS.get(obj.status, obj.status)

    def get_is_overdue(self, obj) -> bool:
        return obj.is_overdue(self._on)

    def get_days_left(self, obj) -> int | None:
        return obj.days_left(self._on)

    def get_traffic_light(self, obj) -> str:
        # Lists annotate it (ObligationQuerySet.with_light): one calendar read per request.
        return getattr(obj, "light", None) or obj.traffic_light()


class ProgressEntrySerializer(serializers.ModelSerializer):
    department = DepartmentRefField()
    author = serializers.CharField(source="author.display_name", read_only=True)

    class Meta:
        model = ProgressEntry
        fields = [
            "id",
            "department",
            "author",
            "created_at",
            "text",
            "percent",
            "milestone",
            "report_period",
            "corrects",
        ]
        read_only_fields = fields


class ProgressInputSerializer(InputSerializer):
    text = serializers.CharField(max_length=5000)
    percent = serializers.IntegerField(min_value=0, max_value=100, required=False, allow_null=True)
    milestone = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    report_period = serializers.RegexField(
        r"^\d{4}(-(0[1-9]|1[0-2])|Q[1-4])$", required=False, allow_blank=True, max_length=10
    )
    corrects = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class EvidenceSerializer(serializers.ModelSerializer):
    department = DepartmentRefField()
    uploaded_by = serializers.CharField(source="uploaded_by.display_name", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = [
            "id",
            "kind",
            "description",
            "department",
            "original_name",
            "content_type",
            "size",
            "digest",
            "digest_algorithm",
            "url",
            "document_number",
            "uploaded_by",
            "uploaded_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, obj) -> str | None:
        if obj.kind != Evidence.Kind.FILE:
            return None
        return f"/api/obligations/{obj.obligation_id}/evidence/{obj.pk}/download/"


class EvidenceInputSerializer(InputSerializer):
    kind = serializers.ChoiceField(choices=Evidence.Kind.choices)
    description = serializers.CharField(max_length=500)
    file = serializers.FileField(required=False, allow_empty_file=True, use_url=False)
    url = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    document_number = serializers.CharField(required=False, allow_blank=True, max_length=100)


class MilestoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Milestone
        fields = ["id", "title", "due_date", "done_at", "created_at"]
        read_only_fields = fields


class MilestoneInputSerializer(InputSerializer):
    title = serializers.CharField(max_length=200)
    due_date = serializers.DateField()


class MilestoneDueDateInputSerializer(InputSerializer):
    due_date = serializers.DateField()
    reason = serializers.CharField(max_length=500)


class ExtensionRequestSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.display_name", read_only=True)
    decided_by = serializers.CharField(source="decided_by.display_name", read_only=True, allow_null=True)

    class Meta:
        model = ExtensionRequest
        fields = [
            "id",
            "requested_by",
            "requested_at",
            "requested_date",
            "reason",
            "status",
            "decided_by",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields


class ExtensionInputSerializer(InputSerializer):
    requested_date = serializers.DateField()
    reason = serializers.CharField(max_length=500)


class VersionedInputSerializer(InputSerializer):
    version = serializers.IntegerField(required=False, min_value=1, help_text="期望版本号；也可用 If-Match 头")


class ExtensionDecideSerializer(VersionedInputSerializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class ObjectionSerializer(serializers.ModelSerializer):
    department = DepartmentRefField()
    suggested_department = DepartmentRefField()
    new_department = DepartmentRefField()
    raised_by = serializers.CharField(source="raised_by.display_name", read_only=True)

    class Meta:
        model = Objection
        fields = [
            "id",
            "department",
            "raised_by",
            "raised_at",
            "reason",
            "suggested_department",
            "status",
            "decided_at",
            "decision_note",
            "new_department",
        ]
        read_only_fields = fields


class ObjectionInputSerializer(InputSerializer):
    reason = serializers.CharField(max_length=500)
    suggested_department = serializers.CharField(required=False, allow_blank=True, max_length=32)


class ObjectionDecideSerializer(VersionedInputSerializer):
    decision = serializers.ChoiceField(choices=[("confirm", "维持原分工"), ("reassign", "调整责任单位")])
    note = serializers.CharField(max_length=500)
    new_department = serializers.CharField(required=False, allow_blank=True, max_length=32)


class TransitionInputSerializer(VersionedInputSerializer):
    action = serializers.ChoiceField(choices=["start", "submit", "verify", "return", "reopen"])
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class DueDateInputSerializer(VersionedInputSerializer):
    due_date = serializers.DateField(allow_null=True)
    reason = serializers.CharField(max_length=500)


class ReassignInputSerializer(VersionedInputSerializer):
    department = serializers.CharField(max_length=32)
    reason = serializers.CharField(max_length=500)


class CooperatingInputSerializer(VersionedInputSerializer):
    departments = serializers.ListField(child=serializers.CharField(max_length=32), min_length=1, max_length=50)


class ReportingSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReportingRequirement
        fields = ["frequency", "due_day", "starts_on", "active"]
        read_only_fields = fields


class ReportingInputSerializer(InputSerializer):
    frequency = serializers.ChoiceField(choices=ReportingRequirement.Frequency.choices)
    starts_on = serializers.DateField(required=False)
    due_day = serializers.IntegerField(required=False, min_value=0, max_value=31, default=5)


class DueDateChangeSerializer(serializers.ModelSerializer):
    changed_by = serializers.CharField(source="changed_by.display_name", read_only=True)

    class Meta:
        model = DueDateChange
        fields = ["id", "milestone", "old_date", "new_date", "reason", "changed_by", "changed_at"]
        read_only_fields = fields


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.display_name", read_only=True, allow_null=True)

    class Meta:
        model = AuditEntry
        fields = ["id", "action", "actor", "at", "before", "after", "hash"]
        read_only_fields = fields


class FeedObligationField(serializers.Serializer):
    """The obligation an entry of a feed belongs to: its id and its citation (第X条第Y款)."""

    id = serializers.IntegerField(read_only=True)
    citation = serializers.CharField(read_only=True)
    department = serializers.CharField(source="department.code", read_only=True)


class ProgressFeedSerializer(ProgressEntrySerializer):
    obligation = FeedObligationField(read_only=True)

    class Meta(ProgressEntrySerializer.Meta):
        fields = ["id", "obligation", *ProgressEntrySerializer.Meta.fields[1:]]
        read_only_fields = fields


class AuditFeedSerializer(AuditEntrySerializer):
    obligation = FeedObligationField(read_only=True)

    class Meta(AuditEntrySerializer.Meta):
        fields = ["id", "obligation", *AuditEntrySerializer.Meta.fields[1:]]
        read_only_fields = fields


class TokenInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
