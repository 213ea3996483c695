from django import forms

from core.forms import InputForm
from obligations.models import Obligation
from regulations.models import Chapter, Regulation, many_regulations

from .asof import ReportFilters
from .models import ExportJob


class ReportForm(InputForm):
    """The filters of a report. Staff see only their own body in the body list."""

    format = forms.ChoiceField(label="格式", choices=ExportJob.Format.choices)
    regulation = forms.ChoiceField(label="法规", required=False)
    department = forms.ChoiceField(label="责任单位", required=False)
    chapter = forms.TypedChoiceField(label="章", required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label="状态", required=False, choices=[("", "全部状态"), *Obligation.Status.choices])
    due_from = forms.DateField(label="完成期限自", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    due_to = forms.DateField(label="完成期限至", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    as_of = forms.DateField(
        label="状态截至（留空为当前）", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        bodies = [(d.code, d.name) for d in user.visible_bodies()]
        self.fields["department"].choices = [("", "全部单位"), *bodies] if user.sees_everything else bodies
        regulations = list(Regulation.objects.order_by("id").values_list("code", "title"))
        self.fields["regulation"].choices = [(code, f"《{title}》") for code, title in regulations]
        many = many_regulations()
        if not many:
            # One regulation in force: nothing to choose, the field stays out of the page.
            del self.fields["regulation"]
        # One choice per chapter of each regulation: an amended regulation's latest version names it.
        chapters = {}
        for c in Chapter.objects.order_by("regulation_id", "number", "version_id").select_related("regulation"):
            chapters[(c.regulation_id, c.number)] = (c.number, f"《{c.regulation.title}》{c}" if many else str(c))
        self.fields["chapter"].choices = [("", "全部章节"), *chapters.values()]

    def filters(self) -> ReportFilters:
        data = self.cleaned_data
        return ReportFilters(
            department=data.get("department") or "",
            chapter=data.get("chapter"),
            status=data.get("status") or "",
            due_from=data.get("due_from"),
            due_to=data.get("due_to"),
            as_of=data.get("as_of"),
            regulation=data.get("regulation") or "",
        )


class ImplementationReportForm(InputForm):
    regulation = forms.ChoiceField(label="法规", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        regulations = Regulation.objects.order_by("id").values_list("code", "title")
        self.fields["regulation"].choices = [(code, f"《{title}》") for code, title in regulations]
        if not many_regulations():
            del self.fields["regulation"]

    as_of = forms.DateField(
        label="状态截至（留空为当前）", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class AmendmentTableForm(InputForm):
    """修订对照表: one choice per amended version ("code@number"), and the format."""

    format = forms.ChoiceField(label="格式", choices=[(ExportJob.Format.XLSX, "Excel"), (ExportJob.Format.PDF, "PDF")])
    version = forms.ChoiceField(
        label="修订版本", error_messages={"invalid_choice": "所选法规没有该修订版本，没有修订对照表。"}
    )

    def __init__(self, *args, versions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].choices = [
            (f"{v.regulation.code}@{v.number}", f"《{v.regulation.title}》{v.label}") for v in versions
        ]

    def regulation_and_number(self) -> tuple[str, int]:
        code, number = self.cleaned_data["version"].rsplit("@", 1)
        return code, int(number)
