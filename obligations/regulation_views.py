"""The regulation pages: the list, one regulation's text, the lead's import of a new regulation
and the lead's amendment of one (upload → preview → corrections → confirm).

Every step of an import or an amendment is the lead's (and the admin's): staff and auditors get
403 (`may_import_regulation`). The file's way from upload to confirmation is
obligations/regulation_upload.py; a large file is read by a worker while the page polls.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.errors import ServiceError
from obligations.permissions import may_import_regulation
from regulations.forms import AmendmentUploadForm, LineageCorrectionForm, RegulationUploadForm
from regulations.lineage import LABELS
from regulations.models import Article, Regulation, RegulationUpload

from . import forms, regulation_upload, selectors, services
from .amendment_preview import OUTCOME_LABELS

Status, Purpose = RegulationUpload.Status, RegulationUpload.Purpose


def _lead_only(request) -> None:
    if not may_import_regulation(request.user):
        raise PermissionDenied


@login_required
def regulations(request):
    """Every regulation imported: its title, 施行日期, duties and how the work on them stands."""
    return render(
        request,
        "obligations/regulations.html",
        {
            "lines": selectors.regulation_lines(user=request.user),
            "may_import": may_import_regulation(request.user),
        },
    )


@login_required
def regulation(request, pk):
    """One regulation's text, article by article, with the clauses found in each."""
    reg = get_object_or_404(Regulation, pk=pk)
    # The text in force: the latest version (an amendment's old text stays with its obligations).
    version = reg.current_version
    articles = (
        Article.objects.filter(regulation=reg, **({"version": version} if version else {}))
        .select_related("chapter")
        .prefetch_related(Prefetch("clauses", to_attr="clause_list"))
        .order_by("number")
    )
    pending = selectors.pending_amendment(reg.pk)
    context = {"regulation": reg, "articles": articles, "version": version, "pending": pending}
    context["may_amend"] = may_import_regulation(request.user)
    if pending is not None:
        context["pending_summary"] = selectors.pending_summary(pending)
        context["may_withdraw"] = context["may_amend"]
        context["withdraw_form"] = forms.AmendmentWithdrawForm()
    return render(request, "obligations/regulation.html", context)


@login_required
@require_POST
def regulation_amendment_withdraw(request, pk):
    """The lead withdraws the regulation's pending amendment (待生效) before it takes effect."""
    _lead_only(request)
    reg = get_object_or_404(Regulation, pk=pk)
    pending = selectors.pending_amendment(reg.pk)
    form = forms.AmendmentWithdrawForm(request.POST)
    if pending is None:
        messages.error(request, "该法规没有待生效的修订")
    elif not form.is_valid():
        messages.error(request, "；".join(e for errors in form.errors.values() for e in errors))
    else:
        try:
            services.amendment_withdraw(amendment=pending, actor=request.user, reason=form.cleaned_data["reason"])
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "已撤回待生效的修订，各项义务继续按现行条文执行")
    return redirect("regulation-detail", pk=pk)


@login_required
def regulation_import(request):
    """The lead brings a regulation in: upload → the dry run as the preview → confirm."""
    _lead_only(request)
    if request.method == "POST" and "confirm" in request.POST:
        report = regulation_upload.confirm(request)
        if report is None:
            return redirect("regulation-import")
        return redirect("regulation-detail", pk=report.regulation.pk)
    context, status, upload = {}, 200, None
    form = RegulationUploadForm()
    if request.method == "POST":
        form = RegulationUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = regulation_upload.import_upload(request, form)
            if upload is not None and upload.status != Status.DONE:
                return redirect("regulation-import")  # a worker reads it: the page shows how far
        if form.errors:
            status = 400
    else:
        upload = regulation_upload.upload_of(request.user, Purpose.IMPORT)
    if upload is not None and upload.status == Status.DONE:
        context.update(regulation_upload.import_context(upload))
    elif upload is not None:
        context["upload"] = upload
    context["form"] = form
    return render(request, "obligations/regulation_import.html", context, status=status)


@login_required
def upload_status(request):
    """The person's upload as it is read (htmx polls it); once it is finished the page reloads
    to show the preview or the error."""
    _lead_only(request)
    upload = RegulationUpload.objects.filter(owner=request.user).defer("data", "text", "preview").first()
    if upload is None or upload.finished:
        response = HttpResponse(status=200)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "regulations/_upload_status.html", {"upload": upload})


# --- the amendment ------------------------------------------------------------------------------


def _amended(request, pk) -> Regulation:
    _lead_only(request)
    return get_object_or_404(Regulation, pk=pk)


@login_required
def regulation_amend(request, pk):
    """Upload the amended text (修正 or 修订) with its 施行日期; the preview follows."""
    reg = _amended(request, pk)
    form = AmendmentUploadForm()
    if request.method == "POST":
        form = AmendmentUploadForm(request.POST, request.FILES)
        if form.is_valid() and regulation_upload.amendment_upload(request, form, reg) is not None:
            return redirect("regulation-amend-preview", pk=reg.pk)
    context = {"regulation": reg, "form": form, "version": reg.current_version}
    return render(request, "regulations/amend.html", context, status=400 if form.errors else 200)


def _correction_form(upload, data=None, initial=None) -> LineageCorrectionForm:
    preview = upload.preview
    return LineageCorrectionForm(
        data, initial=initial, old_duties=preview.get("old_duties", ()), new_duties=preview.get("new_duties", ())
    )


def _preview_page(request, reg, upload, correction=None, status=200):
    context = {"regulation": reg, "upload": upload}
    if upload.status == Status.DONE:
        preview = upload.preview
        initial = {"new_ref": request.GET.get("new", ""), "old_ref": request.GET.get("old", "")}
        context.update(
            preview=preview,
            counts=[(LABELS[k], n) for k, n in preview["counts"].items() if n],
            outcomes=[(OUTCOME_LABELS[k], n) for k, n in preview["outcomes"].items() if n],
            corrections=[(LABELS[k], old, new) for k, old, new in preview["corrections"]],
            correction_form=correction or _correction_form(upload, initial=initial),
        )
    return render(request, "regulations/amend_preview.html", context, status=status)


@login_required
def regulation_amend_preview(request, pk):
    """Each duty of the lineage with both texts and what happens to its obligations; or, while a
    worker reads the file, how far it has got."""
    reg = _amended(request, pk)
    upload = regulation_upload.upload_of(request.user, Purpose.AMEND, reg)
    if upload is None:
        messages.error(request, regulation_upload.MSG_GONE)
        return redirect("regulation-amend", pk=reg.pk)
    if upload.status == Status.DONE and upload.stage == regulation_upload.CONFIRMED:  # by a worker
        messages.success(request, upload.preview["summary"])
        upload.delete()
        return redirect("regulation-detail", pk=reg.pk)
    return _preview_page(request, reg, upload)


@login_required
@require_POST
def regulation_amend_correct(request, pk):
    """The lead corrects a match (another old clause, new, repealed) or withdraws the corrections;
    the preview is prepared again with them."""
    reg = _amended(request, pk)
    upload = regulation_upload.upload_of(request.user, Purpose.AMEND, reg)
    if upload is None or not upload.finished:
        messages.error(request, regulation_upload.MSG_GONE)
        return redirect("regulation-amend", pk=reg.pk)
    if "withdraw" in request.POST:
        regulation_upload.amendment_correct(upload, None)
        return redirect("regulation-amend-preview", pk=reg.pk)
    if upload.status != Status.DONE:
        messages.error(request, regulation_upload.MSG_GONE)
        return redirect("regulation-amend-preview", pk=reg.pk)
    form = _correction_form(upload, request.POST)
    if not form.is_valid():
        return _preview_page(request, reg, upload, correction=form, status=400)
    upload = regulation_upload.amendment_correct(upload, form.cleaned_data["correction"])
    if upload.status == Status.DONE:
        messages.success(request, "已按更正重新比对，请核对后确认")
    return redirect("regulation-amend-preview", pk=reg.pk)


@login_required
@require_POST
def regulation_amend_confirm(request, pk):
    """Confirm: the version is imported and every obligation carried over (audited, events)."""
    reg = _amended(request, pk)
    upload = regulation_upload.upload_of(request.user, Purpose.AMEND, reg)
    if upload is None:
        messages.error(request, regulation_upload.MSG_GONE)
        return redirect("regulation-amend", pk=reg.pk)
    upload = RegulationUpload.objects.select_related("regulation").get(pk=upload.pk)
    result = regulation_upload.amendment_confirm(request, upload)
    if result is None or result == regulation_upload.QUEUED:
        return redirect("regulation-amend-preview", pk=reg.pk)  # a worker confirms: the page polls
    return redirect("regulation-detail", pk=reg.pk)
