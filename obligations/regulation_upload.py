"""A regulation's file from upload to confirmation, for the lead's pages and the admin's alike:
a new regulation's import (upload → the dry run as the preview → confirm) and an amendment of
one (upload → the lineage and the obligations' outcomes as the preview → corrections → confirm).

The upload is kept as a RegulationUpload row, one per person (the next replaces it; the hourly
clean-up removes those left for a day: `upload_sweep`). What is confirmed is exactly the text
previewed. The limits (size, form, a .docx's archive, a PDF's page count) are judged in the
request before anything is parsed (readers.inspect_regulation_bytes). Then the rule:

    a file of at most settings.REGULATION_SYNC_MAX_BYTES (1 MB) and, for a PDF, at most
    SYNC_MAX_PAGES (100) pages is read in the request, and so is an amendment's preview when
    the regulation has at most SYNC_MAX_OBLIGATIONS (200) obligations in force; anything larger
    is done by a Celery task (obligations.tasks.prepare_regulation_upload), the page polling its
    progress, and so is the preview again after each correction.

If the broker does not take the task, the request does the work itself. A failed read or a text
that is not what the page expects leaves the error in Chinese on the row and writes nothing else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import time

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import Q

from core import clock
from core.errors import ServiceError
from core.handoff import hand_off
from regulations.importing import ImportReport, dry_run
from regulations.lineage import LABELS, REPEALED, REWORDED, SAME_WORDS
from regulations.models import Regulation, RegulationUpload
from regulations.parser import RegulationFormatError
from regulations.readers import FORMATS, inspect_regulation_bytes, read_regulation_bytes

from . import services
from .amendment_preview import amendment_preview, outcome_summary
from .models import Obligation

logger = logging.getLogger(__name__)

PREPARE_TASK = "obligations.tasks.prepare_regulation_upload"
SYNC_MAX_PAGES = 100
# An amendment's preview runs the carry-over in a rolled-back transaction: about 4 s for 374
# obligations on an idle 2-core machine, 18 s under load. Above this many, a worker prepares it.
SYNC_MAX_OBLIGATIONS = 200
STASH_HOURS = 24
# A row left "reading" by a worker that died is taken again after this long (longer than any read).
STALE_AFTER = dt.timedelta(minutes=15)

Purpose, Status = RegulationUpload.Purpose, RegulationUpload.Status
MSG_GONE = "预览已失效，请重新上传文件"
MSG_FAILED = "读取文件时发生错误，请重新上传；仍不成功请联系系统管理员"
MSG_USE_AMEND = (
    "《{title}》已经导入，本文件与现行文本不同。修正或修订后的文本请在该法规的页面点击“导入修正/修订文本”导入，"
    "原有义务将逐条结转，不会直接改写已有义务的条文"
)
MSG_STALE = "法规在预览之后已有新版本，请重新上传修订文本"
CONFIRMING, CONFIRMED = "confirming", "confirmed"  # an amendment confirmed by a worker
QUEUED = "queued"
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


def default_code(file_name: str, text: str) -> str:
    """The file's name without its suffix when that is a code (letters, digits, - and _), else one
    made from the text's digest."""
    stem = file_name.rsplit(".", 1)[0][:50]
    if _SLUG.match(stem):
        return stem
    return "regulation-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


# --- the row's life ---------------------------------------------------------------------------


def upload_create(
    *, owner, purpose: str, file_name: str, data: bytes, params: dict, regulation: Regulation | None = None
) -> RegulationUpload:
    """Judge the file's limits (RegulationFormatError before anything is parsed or kept), keep it
    in place of the person's previous upload, then read it here or hand it to a worker."""
    inspection = inspect_regulation_bytes(data)
    with transaction.atomic():
        RegulationUpload.objects.filter(owner=owner).delete()
        upload = RegulationUpload.objects.create(
            owner=owner,
            purpose=purpose,
            regulation=regulation,
            file_name=file_name[:255],
            source_format=inspection.format,
            data=data,
            params={**params, "pages": inspection.pages or 0, "size": len(data)},
            total=inspection.pages or 0,
            stage="reading",
        )
    return upload_start(upload)


def read_in_request(upload: RegulationUpload) -> bool:
    """The rule: small work in the request, large work by a worker (the module's docstring)."""
    params = upload.params
    small = params.get("size", 0) <= settings.REGULATION_SYNC_MAX_BYTES and params.get("pages", 0) <= SYNC_MAX_PAGES
    if small and upload.purpose == Purpose.AMEND:
        live = Obligation.objects.filter(clause__regulation=upload.regulation_id, superseded_at__isnull=True)
        small = live.count() <= SYNC_MAX_OBLIGATIONS
    return small


def upload_start(upload: RegulationUpload) -> RegulationUpload:
    if read_in_request(upload) or not hand_off(
        PREPARE_TASK, args=[str(upload.id)], waiting=f"regulation upload {upload.id} is read in the request"
    ):
        # Small, or the broker did not take it: read here rather than leave the page waiting.
        upload_prepare(upload.id)
    return RegulationUpload.objects.get(id=upload.id)


def upload_prepare(upload_id) -> RegulationUpload | None:
    """Read the file (progress on the row) and prepare its preview. Claimed without a lock: only
    the caller that moves it from pending runs it; a row gone (replaced) is skipped."""
    now = clock.now()
    claimable = Q(status=Status.PENDING) | Q(status=Status.RUNNING, started_at__lt=now - STALE_AFTER)
    if not RegulationUpload.objects.filter(claimable, id=upload_id).update(status=Status.RUNNING, started_at=now):
        return None
    upload = RegulationUpload.objects.select_related("owner", "regulation").get(id=upload_id)
    if upload.stage == CONFIRMING:
        return _confirm_by_worker(upload)
    text = upload.text
    try:
        if not text:
            text = read_regulation_bytes(bytes(upload.data), progress=_progress(upload)).text
        _update(upload, stage="matching", text=text, data=b"")
        preview = PREPARERS[upload.purpose](upload, text)
    except RegulationFormatError as exc:
        return _update(upload, status=Status.FAILED, error=exc.args[0], data=b"")
    except Exception:  # a worker's time limit, a database error: the page says so, nothing kept
        logger.exception("regulation upload %s failed", upload_id)
        return _update(upload, status=Status.FAILED, error=MSG_FAILED, data=b"")
    return _update(upload, status=Status.DONE, preview=preview, error="", params=upload.params)


def _update(upload: RegulationUpload, **fields) -> RegulationUpload:
    RegulationUpload.objects.filter(id=upload.id).update(**fields)
    for name, value in fields.items():
        setattr(upload, name, value)
    return upload


def _progress(upload: RegulationUpload):
    """progress(done, total) for the reader: the row updated at most twice a second."""
    last = [0.0]

    def report(done: int, total: int) -> None:
        moment = time.monotonic()
        if moment - last[0] >= 0.5 or done >= total:
            last[0] = moment
            RegulationUpload.objects.filter(id=upload.id).update(done=done, total=total)

    return report


def upload_sweep(*, hours: float = STASH_HOURS) -> int:
    """Remove uploads older than `hours` (never confirmed); returns how many."""
    removed, _ = RegulationUpload.objects.filter(created_at__lt=clock.now() - dt.timedelta(hours=hours)).delete()
    return removed


def upload_of(user, purpose: str, regulation: Regulation | None = None) -> RegulationUpload | None:
    """The person's upload for this page, if it is one."""
    found = RegulationUpload.objects.filter(owner=user, purpose=purpose)
    if regulation is not None:
        found = found.filter(regulation=regulation)
    return found.defer("data").first()


def _kept(form, upload_file_field: str, **create) -> RegulationUpload | None:
    """upload_create for a valid form; None with the reason on the form's file field when the
    file fails its limits or, read in the request, cannot be read (nothing is kept then)."""
    data, name = form.cleaned_data[upload_file_field]
    try:
        upload = upload_create(file_name=name, data=data, **create)
    except RegulationFormatError as exc:
        form.add_error(upload_file_field, exc.args[0])
        return None
    if upload.status == Status.FAILED:
        form.add_error(upload_file_field, upload.error)
        upload.delete()
        return None
    return upload


# --- a new regulation ---------------------------------------------------------------------------


def import_upload(request, form) -> RegulationUpload | None:
    """A valid import form's file kept for its preview (read, or being read by a worker)."""
    return _kept(form, "file", owner=request.user, purpose=Purpose.IMPORT, params={"code": form.cleaned_data["code"]})


def _prepare_import(upload: RegulationUpload, text: str) -> dict:
    run = dry_run(text, source_format=upload.source_format)  # RegulationFormatError: not a regulation
    known = Regulation.objects.filter(title=run.title).first()
    if known is not None and known.source_sha256 != hashlib.sha256(text.encode("utf-8")).hexdigest():
        raise RegulationFormatError(MSG_USE_AMEND.format(title=known.title))
    upload.params["code"] = upload.params.get("code") or default_code(upload.file_name, text)
    return {"title": run.title}


def import_context(upload: RegulationUpload) -> dict:
    """The import page's preview of a read upload: the dry run, as it stands now."""
    return {
        "run": dry_run(upload.text, source_format=upload.source_format),
        "code": upload.params["code"],
        "source_format": FORMATS.get(upload.source_format, upload.source_format),
        "file_name": upload.file_name,
    }


def confirm(request) -> ImportReport | None:
    """Import what was previewed, as the user; None (with an error message) when nothing waits
    or the service refuses. Success and what awaits confirmation are told as messages."""
    upload = RegulationUpload.objects.filter(owner=request.user, purpose=Purpose.IMPORT, status=Status.DONE).first()
    if upload is None:
        messages.error(request, MSG_GONE)
        return None
    try:
        report = services.regulation_import(text=upload.text, code=upload.params["code"], actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return None
    upload.delete()
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


# --- an amendment -------------------------------------------------------------------------------


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _prepare_amend(upload: RegulationUpload, text: str) -> dict:
    params = upload.params
    return amendment_preview(
        regulation=upload.regulation,
        text=text,
        effective=_date(params["effective"]),
        kind=params["kind"],
        actor=upload.owner,
        corrections=params.get("corrections") or [],
    )


PREPARERS = {Purpose.IMPORT: _prepare_import, Purpose.AMEND: _prepare_amend}


def amendment_upload(request, form, regulation: Regulation) -> RegulationUpload | None:
    """A valid amendment form's file kept for its preview (read and matched, or being so)."""
    return _kept(
        form,
        "file",
        owner=request.user,
        purpose=Purpose.AMEND,
        regulation=regulation,
        params=amendment_params(form.cleaned_data),
    )


def amendment_params(cleaned: dict) -> dict:
    """The amendment form's choices as the row keeps them."""
    return {
        "kind": cleaned["kind"],
        "effective": cleaned["effective"].isoformat(),
        "adopted": cleaned["adopted"].isoformat() if cleaned.get("adopted") else None,
        "promulgated": cleaned["promulgated"].isoformat() if cleaned.get("promulgated") else None,
        "corrections": [],
    }


ONE_PLACE = (*SAME_WORDS, REWORDED, REPEALED)  # kinds that give an old duty one place (or none)


def amendment_correct(upload: RegulationUpload, correction: tuple | None) -> RegulationUpload:
    """Add the lead's correction (None: withdraw them all) and prepare the preview again. A
    correction replaces any earlier one of the same new duty, or of the same old duty where
    either says the old duty has one place in the new text."""
    kept: list[list] = []
    if correction is not None:
        kind, old, new = correction
        one_place = kind in ONE_PLACE
        for earlier in upload.params.get("corrections") or []:
            e_kind, e_old, e_new = earlier
            same_new = new is not None and e_new == new
            same_old = old is not None and e_old == old and (one_place or e_kind in ONE_PLACE)
            if not (same_new or same_old):
                kept.append(earlier)
        kept.append([kind, old, new])
    upload.params["corrections"] = kept
    RegulationUpload.objects.filter(id=upload.id).update(
        params=upload.params, status=Status.PENDING, stage="matching", preview={}, error="", done=0
    )
    return upload_start(upload)


def _amend(upload: RegulationUpload, actor):
    params = upload.params
    return services.regulation_amend(
        regulation=upload.regulation,
        text=upload.text,
        effective=_date(params["effective"]),
        actor=actor,
        kind=params["kind"],
        corrections=[tuple(c) for c in params.get("corrections") or []],
        adopted_on=_date(params.get("adopted")),
        promulgated_on=_date(params.get("promulgated")),
    )


def amendment_summary(result) -> str:
    counts = "，".join(f"{LABELS[k]} {n}" for k, n in result.lineage.counts().items() if n)
    if result.pending:
        # Confirmed ahead of its effective date: nothing is carried over until that day.
        amendment = result.amendment
        return (
            f"已确认《{result.regulation.title}》{amendment.plan.get('version', '')}，"
            f"自{amendment.effective_on:%Y年%m月%d日}起施行，届时逐条结转：{counts}；"
            f"义务结转：{outcome_summary(result.outcomes)}"
        )
    return (
        f"已导入《{result.regulation.title}》{result.version.label}，自{result.version.effective_on:%Y年%m月%d日}起施行："
        f"{counts}；义务结转：{outcome_summary(result.outcomes)}"
    )


def amendment_confirm(request, upload: RegulationUpload):
    """Confirm what was previewed: the service imports the version and carries every obligation
    over (audited, events). Returns the result; QUEUED when a worker confirms it (large work, as
    the preview was); None with the refusal as a message."""
    regulation = upload.regulation
    if upload.status != Status.DONE or not upload.preview:
        messages.error(request, MSG_GONE)
        return None
    if regulation.current_version and regulation.current_version.number != upload.preview["base_version"]:
        upload.delete()
        messages.error(request, MSG_STALE)
        return None
    if not read_in_request(upload):
        if RegulationUpload.objects.filter(id=upload.id, status=Status.DONE).update(
            status=Status.PENDING, stage=CONFIRMING, error=""
        ):
            upload_start(upload)
        return QUEUED
    try:
        result = _amend(upload, request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return None
    except RegulationFormatError as exc:
        messages.error(request, exc.args[0])
        return None
    upload.delete()
    messages.success(request, amendment_summary(result))
    return result


def _confirm_by_worker(upload: RegulationUpload) -> RegulationUpload:
    """The confirmation, by the worker, as its owner: the summary waits on the row for the page."""
    try:
        result = _amend(upload, upload.owner)
    except ServiceError as exc:
        return _update(upload, status=Status.FAILED, error=exc.message)
    except RegulationFormatError as exc:
        return _update(upload, status=Status.FAILED, error=exc.args[0])
    except Exception:  # nothing was written: the service's transaction rolled back
        logger.exception("regulation upload %s: confirmation failed", upload.id)
        return _update(upload, status=Status.FAILED, error=MSG_FAILED)
    return _update(upload, status=Status.DONE, stage=CONFIRMED, preview={"summary": amendment_summary(result)})
