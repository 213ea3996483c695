"""The upload of a regulation's file, shared by the lead's import page and the admin's, and the
lead's amendment: the amended text with its kind and dates, and a correction of the matching."""

from django import forms

from core.forms import DateInput, InputForm

from .lineage import KINDS, LABELS, NEW, REPEALED
from .models import RegulationVersion
from .readers import ACCEPTED_SUFFIXES, MAX_BYTES

FILE_HELP = "支持 .txt、.md、.docx、PDF（带文字层）、.html；扫描件 PDF 无法识别。"


class RegulationFileForm(InputForm):
    """A regulation's file: its suffix and size judged here; its content (form, pages, archive)
    before it is parsed (readers.inspect_regulation_bytes), its text by the reader."""

    file = forms.FileField(
        label="法规文件",
        help_text=FILE_HELP,
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED_SUFFIXES)}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(ACCEPTED_SUFFIXES):
            raise forms.ValidationError("只支持 .txt、.md、.docx、.pdf、.html 文件")
        if upload.size > MAX_BYTES:
            raise forms.ValidationError("文件过大（超过 20 MB）")
        return upload.read(), upload.name


class RegulationUploadForm(RegulationFileForm):
    code = forms.SlugField(label="法规代码", required=False, help_text="默认取文件名")


class AmendmentUploadForm(RegulationFileForm):
    """The amended text of a regulation already imported: 修正 or 修订, in force from 施行日期."""

    KIND_CHOICES = [
        (RegulationVersion.Kind.AMENDED, "修正"),
        (RegulationVersion.Kind.REVISED, "修订"),
    ]

    kind = forms.ChoiceField(label="类型", choices=KIND_CHOICES, initial=RegulationVersion.Kind.AMENDED)
    effective = forms.DateField(label="施行日期", widget=DateInput)
    adopted = forms.DateField(label="通过日期（可不填，默认取文本题注）", required=False, widget=DateInput)
    promulgated = forms.DateField(label="公布日期（可不填，默认取文本题注）", required=False, widget=DateInput)


class LineageCorrectionForm(InputForm):
    """One correction of the matching, as `import_regulation --lineage` takes it: (kind, old
    position, new position). No old clause: the new duty is new; no new clause: the old one is
    repealed; both: the kind of link the lead chooses."""

    new_ref = forms.ChoiceField(label="修订后条款", required=False)
    old_ref = forms.ChoiceField(label="对应的原条款", required=False)
    kind = forms.ChoiceField(
        label="对应关系",
        required=False,
        choices=[("", "—")] + [(k, LABELS[k]) for k in KINDS if k not in (NEW, REPEALED)],
    )

    def __init__(self, *args, old_duties=(), new_duties=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_ref"].choices = [("", "（无：原条款删除）")] + [
            (d["ref"], f"{d['citation']}（{d['ref']}）{d['text'][:24]}") for d in new_duties
        ]
        self.fields["old_ref"].choices = [("", "（无：新增条款）")] + [
            (d["ref"], f"{d['citation']}（{d['ref']}）{d['text'][:24]}") for d in old_duties
        ]

    def clean(self):
        data = super().clean()
        old, new, kind = data.get("old_ref") or None, data.get("new_ref") or None, data.get("kind") or ""
        if old is None and new is None:
            raise forms.ValidationError("请至少选择一个条款")
        if old is None:
            data["correction"] = (NEW, None, new)
        elif new is None:
            data["correction"] = (REPEALED, old, None)
        elif not kind:
            raise forms.ValidationError("请选择对应关系（未变、移动、文字修改、拆分或合并）")
        else:
            data["correction"] = (kind, old, new)
        return data
