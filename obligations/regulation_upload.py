"""The import of a regulation's file, step by step, for the lead's page and the admin's alike:
upload → the dry run as the preview (nothing written) → confirm → the import through the service.

The previewed text waits in the session, so what is imported is exactly what was previewed.
"""

from __future__ import annotations

import hashlib
import re

from django.contrib import messages

from core.errors import ServiceError
from regulations.importing import ImportReport, dry_run
from regulations.parser import RegulationFormatError
from regulations.readers import FORMATS

from . import services

SESSION_KEY = "regulation_import"
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


def default_code(file_name: str, text: str) -> str:
    """The file's name without its suffix when that is a code (letters, digits, - and _), else one
    made from the text's digest."""
    stem = file_name.rsplit(".", 1)[0][:50]
    if _SLUG.match(stem):
        return stem
    return "regulation-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def preview(request, form) -> dict | None:
    """For a valid upload form: the dry run as the page's context, the text kept in the session.
    None (with the error on the form) when the file cannot be read as a regulation."""
    source, name = form.cleaned_data["file"]
    try:
        run = dry_run(source.text, source_format=source.format)
    except RegulationFormatError as exc:
        form.add_error("file", exc.args[0])
        return None
    code = form.cleaned_data["code"] or default_code(name, source.text)
    request.session[SESSION_KEY] = {"text": source.text, "code": code}
    return {"run": run, "code": code, "source_format": FORMATS[source.format], "file_name": name}


def confirm(request) -> ImportReport | None:
    """Import what was previewed, as the user; None (with an error message) when nothing waits
    or the service refuses. Success and what awaits confirmation are told as messages."""
    pending = request.session.pop(SESSION_KEY, None)
    if not pending:
        messages.error(request, "预览已失效，请重新上传文件")
        return None
    try:
        report = services.regulation_import(text=pending["text"], code=pending["code"], actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return None
    messages.success(
        request,
        f"已导入《{report.regulation.title}》：新生成义务 {report.obligations_created} 项，"
        f"待确认主体 {len(report.unresolved)} 处",
    )
    if report.proposed:
        messages.warning(
            request, f"以下机构不在机构名录中，已提请系统管理员确认（待确认机构）：{'、'.join(report.proposed)}"
        )
    return report
