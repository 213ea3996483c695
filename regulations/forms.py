"""The upload of a regulation's file, shared by the lead's import page and the admin's."""

from django import forms

from core.forms import InputForm

from .parser import RegulationFormatError
from .readers import ACCEPTED_SUFFIXES, MAX_BYTES, read_regulation_bytes


class RegulationUploadForm(InputForm):
    file = forms.FileField(
        label="法规文件",
        help_text="支持 .txt、.md、.docx、PDF（带文字层）、.html；扫描件 PDF 无法识别。",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED_SUFFIXES)}),
    )
    code = forms.SlugField(label="法规代码", required=False, help_text="默认取文件名")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(ACCEPTED_SUFFIXES):
            raise forms.ValidationError("只支持 .txt、.md、.docx、.pdf、.html 文件")
        if upload.size > MAX_BYTES:
            raise forms.ValidationError("文件过大（超过 20 MB）")
        try:
            return read_regulation_bytes(upload.read()), upload.name
        except RegulationFormatError as exc:
            raise forms.ValidationError(exc.args[0]) from exc
