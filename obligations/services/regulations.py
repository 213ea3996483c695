"""A regulation brought in: its text stored, its duties turned into obligations (with audit)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from core.errors import InvalidInput, NotAllowed
from regulations.importing import ImportReport
from regulations.models import Regulation
from regulations.parser import RegulationFormatError, parse_regulation

from .. import audit
from ..audit import AuditAction
from ..permissions import may_import_regulation
from ..seeding import import_regulation


@transaction.atomic
def regulation_import(*, text: str, code: str, actor: User) -> ImportReport:
    """Import (or import again) a regulation's text: every duty's obligations are created through
    obligations.seeding, each with its audit entry; the import itself is one more entry."""
    if not may_import_regulation(actor):
        raise NotAllowed("只有牵头部门负责人可以导入法规")
    try:
        title = parse_regulation(text).title
        if not Regulation.objects.filter(title=title).exists() and Regulation.objects.filter(code=code).exists():
            raise InvalidInput(f"法规代码“{code}”已被其他法规使用，请另填一个", details={"code": ["法规代码已被使用"]})
        report = import_regulation(text, code=code, actor=actor)
    except RegulationFormatError as exc:
        raise InvalidInput(exc.args[0]) from exc
    audit.record(
        AuditAction.REGULATION_IMPORTED,
        actor=actor,
        after={
            "regulation": report.regulation.code,
            "title": report.regulation.title,
            "created": report.created,
            "obligations_created": report.obligations_created,
            "proposed": report.proposed,
        },
    )
    return report
