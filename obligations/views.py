"""The web UI: 我的任务, the obligation page with the actions the user may take, the 台账.

Views check visibility (404) and call one service per form; the services check permissions
(403), state and versions (409) and write the audit trail.
"""

import datetime as dt
import tempfile

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import escape
from django.utils.safestring import mark_safe

from core.clock import today
from core.errors import InvalidTransition, NotAllowed, ServiceError
from obligations.permissions import Action, allowed_actions, can, may_attempt
from regulations.models import Regulation

from . import decisions, forms, ledger, selectors, services
from .api.views import evidence_file_response
from .ledger_returned import ledger_returned as build_returned_ledger
from .ledger_returned import returned_download_name
from .models import (
    AuditEntry,
    Evidence,
    ExtensionRequest,
    LightWindow,
    Milestone,
    Objection,
    Obligation,
    ProgressEntry,
    overdue_q,
)

PAGE_SIZE = 20


def _visible(request, pk) -> Obligation:
    return get_object_or_404(
        Obligation.objects.visible_to(request.user).select_related(
            "department", "clause__article__chapter", "clause__regulation"
        ),
        pk=pk,
    )


@login_required
def tasks(request):
    form = forms.TaskFilterForm(request.GET or None, user=request.user)
    window = LightWindow.for_day()
    on = window.on
    queryset = selectors.obligation_list(user=request.user, window=window)
    chosen_regulation = None
    if form.is_valid():
        data = form.cleaned_data
        chosen_regulation = data.get("regulation")
        if chosen_regulation:
            queryset = queryset.filter(clause__regulation=chosen_regulation)
        if data["status"]:
            queryset = queryset.filter(status=data["status"])
        if data["overdue"] in ("0", "1"):
            late = overdue_q(on)
            queryset = queryset.filter(late) if data["overdue"] == "1" else queryset.exclude(late)
        if data["due_within"] is not None:
            queryset = queryset.open().filter(
                due_date__lte=on + dt.timedelta(days=data["due_within"]), due_date__gte=on
            )
        if data["chapter"]:
            queryset = queryset.filter(clause__article__chapter=data["chapter"])
        if data["article"]:
            queryset = queryset.filter(clause__article__number=data["article"])
        if data["q"]:
            queryset = queryset.filter(clause__text__icontains=data["q"])
        if data["department"]:
            queryset = queryset.filter(department=data["department"])
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    decisions.mark_unseen(page.object_list, request.user)  # 已退回 … on rows whose latest decision is unseen
    query = request.GET.copy()
    query.pop("page", None)
    reports = selectors.reporting_for(user=request.user)
    if request.user.sees_everything:
        # The lead sees who has not reported; staff see what they have to report next.
        reports = [(r, st) for r, st in reports if st.missing]
    return render(
        request,
        "obligations/tasks.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "today": on,
            "reports": reports,
            "ledger_bodies": request.user.visible_bodies() if request.user.sees_everything else None,
            "chosen_regulation": chosen_regulation,
            "filtered": form.is_valid() and any(v not in (None, "") for v in form.cleaned_data.values()),
        },
    )


def highlight(article_text: str, clause_text: str):
    """The article with the duty clause wrapped in <mark> (everything else escaped)."""
    text = escape(article_text)
    needle = escape(clause_text.strip())
    if needle and needle in text:
        return mark_safe(text.replace(needle, f"<mark>{needle}</mark>", 1))  # noqa: S308 (both escaped above)
    return mark_safe(text)  # noqa: S308 (escaped above)


ACTION_FORMS = {
    "transition": forms.TransitionForm,
    "progress": forms.ProgressForm,
    "evidence": forms.EvidenceForm,
    "milestone": forms.MilestoneForm,
    "due_date": forms.DueDateForm,
    "extension": forms.ExtensionForm,
    "extension_decide": forms.ExtensionDecideForm,
    "objection": forms.ObjectionForm,
    "objection_decide": forms.ObjectionDecideForm,
    "reassign": forms.ReassignForm,
    "cooperating": forms.CooperatingForm,
    "reporting": forms.ReportingForm,
}


def _make_form(name, obligation, data=None, files=None):
    cls = ACTION_FORMS[name]
    kwargs = {"prefix": name}
    if cls is forms.ProgressForm:
        kwargs["obligation"] = obligation
    if issubclass(cls, forms.VersionedForm):
        kwargs["initial"] = {"version": obligation.version}
    return cls(data, files, **kwargs) if data is not None else cls(**kwargs)


def _context(request, obligation, bound: dict | None = None):
    bound = bound or {}
    allowed = allowed_actions(request.user, obligation)
    article = obligation.clause.article
    requirement = _requirement(obligation)
    pending_extension = obligation.extension_requests.filter(status=ExtensionRequest.Status.PENDING).first()
    pending_objection = obligation.objections.filter(status=Objection.Status.PENDING).first()
    form_objects = {name: bound.get(name) or _make_form(name, obligation) for name in ACTION_FORMS}
    transitions = [
        (name, services.TRANSITION_LABELS[name], name in services.REASON_REQUIRED)
        for name in services.available_transitions(obligation)
        if name in allowed
    ]
    decision = decisions.latest_decision(obligation)
    return {
        "obligation": obligation,
        "decision": decision,
        "earlier_decisions": decisions.earlier_unseen(obligation, request.user, decision),
        "allowed": allowed,
        "article_html": highlight(article.text, obligation.clause.text),
        "cooperating": obligation.cooperating.all(),
        "milestones": obligation.milestones.all(),
        "progress": obligation.progress_entries.select_related("department", "author", "milestone", "corrects"),
        "evidence": obligation.evidence.select_related("department", "uploaded_by"),
        "date_changes": obligation.due_date_changes.select_related("changed_by", "milestone"),
        "extensions": obligation.extension_requests.select_related("requested_by", "decided_by"),
        "objections": obligation.objections.select_related("department", "raised_by", "new_department"),
        "pending_extension": pending_extension,
        "pending_objection": pending_objection,
        "transitions": transitions,
        # What 提交核验 still needs, said beside the button before anyone clicks it.
        "submit_missing": services.submission_missing(obligation) if any(t[0] == "submit" for t in transitions) else [],
        "requirement": requirement,
        "reporting_status": selectors.reporting_status(requirement) if requirement and requirement.active else None,
        "objection_deadline": selectors.objection_deadline(obligation),
        "forms": form_objects,
        "today": today(),
        "history": AuditEntry.objects.filter(obligation=obligation).select_related("actor").order_by("-id")[:100],
        "pending_change": selectors.pending_change(obligation),
        "max_mb": settings.EVIDENCE_MAX_BYTES // (1024 * 1024),
    }


def _requirement(obligation):
    from .models import ReportingRequirement

    return ReportingRequirement.objects.filter(obligation=obligation).first()


@login_required
def obligation_detail(request, pk):
    obligation = _visible(request, pk)
    context = _context(request, obligation)
    # Opening the page is seeing its latest decision (the banner at the top): 我的任务 unmarks it.
    decision = context["decision"]
    services.decision_mark_seen(user=request.user, obligation=obligation, entry_id=decision and decision.entry_id)
    return render(request, "obligations/detail.html", context)


def _run(name, request, obligation, data):
    """Call the service behind form `name` with the cleaned data."""
    user = request.user
    if name == "transition":
        return services.obligation_transition(
            obligation=obligation,
            actor=user,
            action=data["action"],
            reason=data["reason"],
            expected_version=data["version"],
        )
    if name == "progress":
        milestone = (
            Milestone.objects.filter(pk=data["milestone"], obligation=obligation).first() if data["milestone"] else None
        )
        corrects = (
            ProgressEntry.objects.filter(pk=data["corrects"], obligation=obligation).first()
            if data["corrects"]
            else None
        )
        return services.progress_add(
            obligation=obligation,
            actor=user,
            text=data["text"],
            percent=data["percent"],
            milestone=milestone,
            report_period=data["report_period"],
            corrects=corrects,
        )
    if name == "evidence":
        return services.evidence_add(obligation=obligation, actor=user, **data)
    if name == "milestone":
        return services.milestone_add(obligation=obligation, actor=user, **data)
    if name == "due_date":
        return services.obligation_set_due_date(
            obligation=obligation,
            actor=user,
            due_date=data["due_date"],
            reason=data["reason"],
            expected_version=data["version"],
        )
    if name == "extension":
        return services.extension_request(obligation=obligation, actor=user, **data)
    if name == "extension_decide":
        item = obligation.extension_requests.filter(status=ExtensionRequest.Status.PENDING).first()
        if item is None:
            raise InvalidTransition("没有待审批的延期申请")
        return services.extension_decide(
            request=item, actor=user, approve=data["approve"], note=data["note"], expected_version=data["version"]
        )
    if name == "objection":
        dept = data["suggested_department"]
        return services.objection_raise(
            obligation=obligation, actor=user, reason=data["reason"], suggested_department=dept
        )
    if name == "objection_decide":
        item = obligation.objections.filter(status=Objection.Status.PENDING).first()
        if item is None:
            raise InvalidTransition("没有待处理的异议")
        return services.objection_decide(
            objection=item,
            actor=user,
            decision=data["decision"],
            note=data["note"],
            new_department=data["new_department"],
            expected_version=data["version"],
        )
    if name == "reassign":
        return services.obligation_reassign(
            obligation=obligation,
            actor=user,
            department=data["department"],
            reason=data["reason"],
            expected_version=data["version"],
        )
    if name == "cooperating":
        return services.obligation_add_cooperating(
            obligation=obligation, actor=user, departments=list(data["departments"]), expected_version=data["version"]
        )
    if name == "reporting":
        return services.reporting_require(obligation=obligation, actor=user, **data)
    raise Http404


SUCCESS = {
    "progress": "工作进展已记录",
    "evidence": "佐证材料已提交",
    "milestone": "工作节点已添加",
    "extension": "延期申请已提交，等待牵头部门审批",
    "objection": "异议已提交，等待牵头部门处理",
    "reassign": "责任单位已调整",
    "cooperating": "协办单位已增加",
    "reporting": "定期报送要求已设置",
}
TRANSITION_SUCCESS = {
    "start": "已开始办理",
    "submit": "已提交核验，等待牵头部门核验",
    "verify": "已核验通过",
    "return": "已退回，责任单位将看到退回原因",
    "reopen": "已重新打开",
}
# What the form was for, in the alert at the top of the page when it was refused.
ACTION_TITLES = {
    "progress": "填报进展",
    "evidence": "提交佐证材料",
    "milestone": "添加节点",
    "due_date": "调整完成期限",
    "extension": "申请延期",
    "extension_decide": "审批延期",
    "objection": "提出异议",
    "objection_decide": "处理异议",
    "reassign": "调整责任单位",
    "cooperating": "增加协办单位",
    "reporting": "设置定期报送",
}


def _success_message(name: str, data: dict, obligation: Obligation) -> str:
    """Name what happened (已开始办理, 已提交核验, 已退回, 期限已调整 …), not just that it did."""
    if name == "transition":
        return TRANSITION_SUCCESS.get(data["action"], "状态已更新")
    if name == "due_date":
        new = data["due_date"]
        return f"完成期限已调整为 {new:%Y-%m-%d}" if new else "完成期限已取消"
    if name == "extension_decide":
        if data["approve"] and obligation.due_date:
            return f"已同意延期，完成期限已调整为 {obligation.due_date:%Y-%m-%d}"
        if data["approve"]:
            return "已同意延期"
        return "已驳回延期申请"
    if name == "objection_decide":
        return "已调整责任单位（异议成立）" if data["decision"] == "reassign" else "已维持原分工"
    return SUCCESS[name]


def _action_title(name: str, form) -> str:
    if name == "transition":
        action = form.data.get("transition-action", "")
        return services.TRANSITION_LABELS.get(action, "办理")
    return ACTION_TITLES.get(name, "操作")


def _problems(form) -> list[str]:
    """Every error of a refused form, for the alert at the top (each also stays by its field)."""
    problems = [str(e) for e in form.non_field_errors()]
    for field in form:
        problems += [f"{field.label}：{e}" for e in field.errors]
    return problems


@login_required
def obligation_action(request, pk, name):
    if name not in ACTION_FORMS:
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    obligation = _visible(request, pk)
    if not may_attempt(request.user, name, obligation):
        raise PermissionDenied(NotAllowed.default_message)  # before the form: an empty one is no excuse
    form = _make_form(name, obligation, request.POST, request.FILES)
    status = 400
    if form.is_valid():
        try:
            _run(name, request, obligation, form.cleaned_data)
        except ServiceError as exc:
            status = exc.status
            placed = False
            for field_name, errors in exc.details.items():
                if field_name in form.fields and isinstance(errors, list):
                    for error in errors:
                        form.add_error(field_name, str(error))
                    placed = True
            if not placed:
                form.add_error(None, exc.message)
            if isinstance(exc, NotAllowed):
                # The form of an action one may not take is not on the page: say it at the top.
                messages.error(request, exc.message)
            obligation = _visible(request, pk)
        else:
            obligation.refresh_from_db()
            messages.success(request, _success_message(name, form.cleaned_data, obligation))
            return redirect("obligation-detail", pk=pk)
    context = _context(request, obligation, bound={name: form})
    context["open_form"] = name
    if status != 403:  # a refusal of the action itself is already said at the top (messages)
        context["error_title"] = f"未能{_action_title(name, form)}"
        context["errors_top"] = _problems(form)
    return render(request, "obligations/detail.html", context, status=status)


@login_required
def milestone_done(request, pk, mid):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    obligation = _visible(request, pk)
    if not may_attempt(request.user, "milestone", obligation):
        raise PermissionDenied(NotAllowed.default_message)
    milestone = get_object_or_404(Milestone, pk=mid, obligation=obligation)
    try:
        services.milestone_complete(milestone=milestone, actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("obligation-detail", pk=pk)
    messages.success(request, "节点已标记完成")
    return redirect("obligation-detail", pk=pk)


@login_required
def review_confirm(request, pk):
    """待复核: the body (or the lead) confirms the duty's words after an amendment."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    obligation = _visible(request, pk)
    try:
        services.obligation_review_confirm(
            obligation=obligation, actor=request.user, expected_version=request.POST.get("version")
        )
    except ServiceError as exc:
        if isinstance(exc, NotAllowed):
            raise PermissionDenied(exc.message) from None
        messages.error(request, exc.message)
        return redirect("obligation-detail", pk=pk)
    messages.success(request, "已确认修订后的条文")
    return redirect("obligation-detail", pk=pk)


@login_required
def evidence_download(request, pk, eid):
    obligation = _visible(request, pk)
    if not can(request.user, Action.DOWNLOAD, obligation):
        raise Http404
    item = get_object_or_404(Evidence, pk=eid, obligation=obligation, kind=Evidence.Kind.FILE)
    return evidence_file_response(item)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
def ledger_download(request):
    """台账: staff get their own body's; the lead, auditors and admins any body's (?department=)."""
    user = request.user
    code = request.GET.get("department") or ""
    bodies = user.visible_bodies()
    if code:
        department = get_object_or_404(bodies, code=code)  # another body's ledger does not exist for staff
    elif user.department_id and not user.sees_everything:
        department = user.department
    else:
        raise Http404
    wanted = request.GET.get("regulation") or ""
    regulation = get_object_or_404(Regulation, code=wanted) if wanted else None
    out = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    try:
        ledger.ledger_export(actor=user, department=department, out=out, regulation=regulation)
    except NotAllowed:
        out.close()
        raise Http404 from None
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=ledger.ledger_download_name(department), content_type=XLSX)


@login_required
def ledger_import(request):
    """Upload a filled 台账, see every row's changes, then confirm. Both steps run the same
    service (obligations.ledger.ledger_import); the preview is rolled back."""
    user = request.user
    context = {"form": forms.LedgerUploadForm(), "max_mb": ledger.MAX_BYTES // (1024 * 1024)}
    if request.method == "GET":
        return render(request, "obligations/ledger_import.html", context)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    if "token" in request.POST:
        return _ledger_confirm(request, context)
    form = forms.LedgerUploadForm(request.POST, request.FILES)
    context["form"] = form
    if not form.is_valid():
        return render(request, "obligations/ledger_import.html", context, status=400)
    upload = form.cleaned_data["file"]
    if upload.size > ledger.MAX_BYTES:
        form.add_error("file", f"文件过大，台账文件不应超过 {context['max_mb']} MB")
        return render(request, "obligations/ledger_import.html", context, status=400)
    data = upload.read()
    name = services.display_name(upload.name)
    try:
        result = ledger.ledger_import(actor=user, data=data, file_name=name, apply=False)
    except ledger.LedgerRefused as exc:
        form.add_error("file", exc.message)
        context["refused"] = [ledger.RowError(**e) for e in exc.details.get("errors", []) if e["row"]]
        return render(request, "obligations/ledger_import.html", context, status=400)
    context.update(result=result, name=name)
    if result.ok and result.changed:
        context["token"] = ledger.ledger_stash(actor=user, data=data)
    elif not result.ok:
        # Kept for the returned ledger (the typed values carried into a fresh one), never confirmed.
        context["returned_token"] = ledger.ledger_stash(actor=user, data=data)
    return render(request, "obligations/ledger_import.html", context, status=200 if result.ok else 400)


def _ledger_confirm(request, context):
    user = request.user
    confirm = forms.LedgerConfirmForm(request.POST)
    data = ledger.ledger_stashed(actor=user, token=confirm.data.get("token")) if confirm.is_valid() else None
    if data is None:
        messages.error(request, "预览已失效，请重新上传台账")
        return redirect("ledger-import")
    token, name = confirm.cleaned_data["token"], confirm.cleaned_data["name"]
    try:
        result = ledger.ledger_import(actor=user, data=data, file_name=name, apply=True)
    except ledger.LedgerRefused as exc:
        ledger.ledger_unstash(actor=user, token=token)
        messages.error(request, exc.message)
        return redirect("ledger-import")
    if not result.ok:
        # Something changed between the preview and the confirmation: show why, apply nothing,
        # and keep the upload for the returned ledger.
        context.update(result=result, name=name, returned_token=token)
        return render(request, "obligations/ledger_import.html", context, status=409)
    ledger.ledger_unstash(actor=user, token=token)
    messages.success(request, result.summary())
    return redirect("tasks")


@login_required
def ledger_returned(request, token):
    """The refused upload `token` handed back as a fresh ledger with what was typed carried into
    it (obligations.ledger_returned). Only its uploader has it; the export's permissions apply."""
    user = request.user
    data = ledger.ledger_stashed(actor=user, token=token)
    if data is None:
        messages.error(request, "该台账已失效，请重新上传")
        return redirect("ledger-import")
    out = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    try:
        returned = build_returned_ledger(actor=user, data=data, out=out)
    except NotAllowed:
        out.close()
        raise Http404 from None
    except ledger.LedgerRefused as exc:
        out.close()
        messages.error(request, exc.message)
        return redirect("ledger-import")
    out.seek(0)
    name = returned_download_name(returned.department)
    return FileResponse(out, as_attachment=True, filename=name, content_type=XLSX)
