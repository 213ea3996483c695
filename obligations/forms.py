"""Web forms: shapes and Chinese labels only. Rules are checked by the services; the rules for
typed text and dates (core.validators) are on every field of every InputForm."""

from django import forms
from django.db.models import Q

from accounts.models import Department
from core.forms import DateInput, InputForm
from regulations.models import Chapter, Regulation, many_regulations

from .models import Evidence, Obligation, ReportingRequirement


class ChapterChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, chapter):
        # Several regulations have a 第一章 each: then the chapter says whose it is.
        return f"《{chapter.regulation.title}》{chapter}" if self.many else str(chapter)


class TaskFilterForm(InputForm):
    # Only while more than one regulation is in force (regulations.models.many_regulations).
    regulation = forms.ModelChoiceField(
        label="法规", required=False, queryset=Regulation.objects.none(), to_field_name="code", empty_label="全部"
    )
    status = forms.ChoiceField(label="状态", required=False, choices=[("", "全部")] + Obligation.Status.choices)
    overdue = forms.ChoiceField(label="逾期", required=False, choices=[("", "全部"), ("1", "仅逾期"), ("0", "未逾期")])
    due_within = forms.IntegerField(label="几天内到期", required=False, min_value=0, max_value=3650)
    chapter = ChapterChoiceField(label="章", required=False, queryset=Chapter.objects.none(), empty_label="全部")
    article = forms.IntegerField(label="条（序号）", required=False, min_value=1, max_value=999)
    q = forms.CharField(label="搜索条款内容", required=False, max_length=100)
    # The dashboard's drill-down links (/tasks/?department=CODE) land here.
    department = forms.ModelChoiceField(
        label="责任单位", required=False, queryset=Department.objects.none(), to_field_name="code", empty_label="全部"
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        many = many_regulations()
        self.fields["chapter"].many = many
        self.fields["chapter"].queryset = Chapter.objects.select_related("regulation").order_by(
            "regulation_id", "number"
        )
        if many:
            self.fields["regulation"].queryset = Regulation.objects.order_by("id")
        elif not self.data.get("regulation"):
            # One regulation: nothing to choose (a link naming one still filters).
            del self.fields["regulation"]
        else:
            self.fields["regulation"].queryset = Regulation.objects.all()
        # Only the bodies whose work the person sees: their own (User.visible_bodies) and, for
        # staff, the bodies leading the work they cooperate on; never the whole registry.
        bodies = user.visible_bodies() if user is not None else Department.objects.none()
        if user is not None and not user.sees_everything:
            leading = Obligation.objects.visible_to(user).values("department_id")
            bodies = Department.objects.filter(Q(pk__in=bodies.values("pk")) | Q(pk__in=leading), active=True)
        self.fields["department"].queryset = bodies.order_by("sort_order", "code")


class VersionedForm(InputForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class TransitionForm(VersionedForm):
    action = forms.ChoiceField(
        choices=[
            ("start", "启动"),
            ("submit", "提交核验"),
            ("verify", "核验通过"),
            ("return", "退回"),
            ("reopen", "重新打开"),
        ],
        widget=forms.HiddenInput,
    )
    reason = forms.CharField(
        label="原因/说明", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class ProgressForm(InputForm):
    text = forms.CharField(label="工作进展", max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    percent = forms.IntegerField(label="完成比例（%）", required=False, min_value=0, max_value=100)
    milestone = forms.TypedChoiceField(label="完成节点", required=False, coerce=int, empty_value=None, choices=[])
    report_period = forms.RegexField(
        label="报送期次（如 2025-03 或 2025Q1）",
        required=False,
        max_length=10,
        regex=r"^\d{4}(-(0[1-9]|1[0-2])|Q[1-4])$",
        error_messages={"invalid": "报送期次格式应为 2025-03（月度）或 2025Q1（季度）"},
    )
    corrects = forms.TypedChoiceField(label="更正哪条进展", required=False, coerce=int, empty_value=None, choices=[])

    def __init__(self, *args, obligation=None, **kwargs):
        super().__init__(*args, **kwargs)
        if obligation is not None:
            self.fields["milestone"].choices = [("", "—")] + [
                (m.pk, f"{m.title}（{m.due_date:%Y-%m-%d}）") for m in obligation.milestones.filter(done_at=None)
            ]
            self.fields["corrects"].choices = [("", "—（新的进展）")] + [
                (p.pk, f"{p.created_at:%m-%d %H:%M} {p.text[:20]}") for p in obligation.progress_entries.all()[:50]
            ]


class EvidenceForm(InputForm):
    kind = forms.ChoiceField(label="材料类型", choices=Evidence.Kind.choices)
    description = forms.CharField(label="材料说明", max_length=500)
    file = forms.FileField(label="文件", required=False, allow_empty_file=True)
    url = forms.CharField(label="链接（http/https）", required=False, max_length=1000)
    document_number = forms.CharField(label="发文字号（如 济工信发〔2025〕12号）", required=False, max_length=100)


class MilestoneForm(InputForm):
    title = forms.CharField(label="节点名称", max_length=200)
    due_date = forms.DateField(label="节点期限", widget=DateInput)


class DueDateForm(VersionedForm):
    due_date = forms.DateField(label="完成期限", widget=DateInput)
    reason = forms.CharField(label="调整原因", max_length=500)


class ExtensionForm(InputForm):
    requested_date = forms.DateField(label="申请延至", widget=DateInput)
    reason = forms.CharField(label="延期理由", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class ExtensionDecideForm(VersionedForm):
    approve = forms.TypedChoiceField(
        label="审批结果", choices=[("1", "同意"), ("0", "驳回")], coerce=lambda v: v == "1", widget=forms.RadioSelect
    )
    note = forms.CharField(label="审批意见（驳回时必填）", required=False, max_length=500)


class ObjectionForm(InputForm):
    reason = forms.CharField(label="异议理由", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    suggested_department = forms.ModelChoiceField(
        label="建议责任单位", required=False, queryset=Department.objects.none(), to_field_name="code", empty_label="—"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["suggested_department"].queryset = Department.objects.filter(active=True)


class ObjectionDecideForm(VersionedForm):
    decision = forms.ChoiceField(
        label="处理结果", choices=[("confirm", "维持原分工"), ("reassign", "调整责任单位")], widget=forms.RadioSelect
    )
    note = forms.CharField(label="处理意见", max_length=500)
    new_department = forms.ModelChoiceField(
        label="调整后责任单位",
        required=False,
        queryset=Department.objects.none(),
        to_field_name="code",
        empty_label="—",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_department"].queryset = Department.objects.filter(active=True)


class ReassignForm(VersionedForm):
    department = forms.ModelChoiceField(
        label="新责任单位", queryset=Department.objects.none(), to_field_name="code", empty_label="请选择"
    )
    reason = forms.CharField(label="调整原因", max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(active=True)


class CooperatingForm(VersionedForm):
    departments = forms.ModelMultipleChoiceField(
        label="增加协办单位", queryset=Department.objects.none(), to_field_name="code"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departments"].queryset = Department.objects.filter(active=True)


class ReportingForm(InputForm):
    frequency = forms.ChoiceField(label="报送频次", choices=ReportingRequirement.Frequency.choices)
    starts_on = forms.DateField(label="起始日期", required=False, widget=DateInput)
    due_day = forms.IntegerField(label="期后报送天数", min_value=0, max_value=31, initial=5)


class LedgerRowForm(InputForm):
    """One filled row of a returned 台账 (obligations.ledger): the cells people type, checked by
    the rules of the web forms. Labels are the ledger's column headers, used in its errors."""

    progress = forms.CharField(label="本期进展", required=False, max_length=5000)
    percent = forms.IntegerField(label="完成比例", required=False, min_value=0, max_value=100)
    status_request = forms.ChoiceField(
        label="状态申请", required=False, choices=[("", "—"), ("开始办理", "开始办理"), ("提交核验", "提交核验")]
    )
    evidence = forms.CharField(label="佐证链接或发文字号", required=False, max_length=1000)


class LedgerUploadForm(InputForm):
    file = forms.FileField(label="填报后的台账（.xlsx）")


class LedgerConfirmForm(InputForm):
    token = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput)
    name = forms.CharField(required=False, max_length=255, widget=forms.HiddenInput)


class AmendmentWithdrawForm(InputForm):
    reason = forms.CharField(label="撤回原因", max_length=300, widget=forms.Textarea(attrs={"rows": 2}))
