"""The admin looks at the regulation and the work done on it; it changes none of it.

Every change of workflow state, dates, assignments, progress, evidence, milestones, extension
requests and objections goes through obligations.services (with its audit entry and notices),
from the app's pages or the API. The regulation's text changes only through the import (the
import page below or import_regulation), body proposals only through their services. An admin
page that could save or delete these rows would be a way round all of that.
"""

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from core.admin import ReadOnlyAdmin, number
from core.errors import ServiceError
from regulations import models as law
from regulations.forms import RegulationUploadForm

from . import audit, models, regulation_upload, services


@admin.register(law.Regulation)
class RegulationAdmin(ReadOnlyAdmin):
    list_display = ("title", "code", "effective_date", "imported_at")
    change_list_template = "admin/regulations/regulation/change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="regulations_regulation_import"), *super().get_urls()]

    def import_view(self, request):
        """Upload → dry-run preview → import. The previewed text waits in the session, so what is
        imported is exactly what was previewed."""
        # Not has_add_permission: the plain add form stays closed, a regulation comes only
        # through this import (parsed, with its audit entries).
        if not request.user.has_perm("obligations.add_regulation"):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "导入法规"}
        form = RegulationUploadForm()
        if request.method == "POST" and "confirm" in request.POST:
            if regulation_upload.confirm(request) is None:
                return redirect("admin:regulations_regulation_import")
            return redirect("admin:regulations_regulation_changelist")
        upload = None
        if request.method == "POST":
            form = RegulationUploadForm(request.POST, request.FILES)
            if form.is_valid():
                upload = regulation_upload.import_upload(request, form)
                if upload is not None and upload.status != upload.Status.DONE:
                    return redirect("admin:regulations_regulation_import")  # a worker reads it
        else:
            upload = regulation_upload.upload_of(request.user, law.RegulationUpload.Purpose.IMPORT)
        if upload is not None and upload.status == upload.Status.DONE:
            context.update(regulation_upload.import_context(upload))
        elif upload is not None:
            context["upload"] = upload
        context["form"] = form
        return TemplateResponse(request, "admin/regulations/regulation/import.html", context)


@admin.register(models.Obligation)
class ObligationAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "department", "status", "due_date", "superseded_at")
    list_filter = ("status", "department__level", "department")
    search_fields = ("clause__text",)


@admin.register(models.ProgressEntry)
class ProgressEntryAdmin(ReadOnlyAdmin):
    list_display = ("obligation", "department", "author", "created_at", "percent")


@admin.register(models.Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = ("obligation", "kind", "description", "original_name", "size", "uploaded_by", "uploaded_at")


@admin.register(models.Milestone)
class MilestoneAdmin(ReadOnlyAdmin):
    list_display = ("obligation", "title", "due_date", "done_at")


@admin.register(models.DueDateChange)
class DueDateChangeAdmin(ReadOnlyAdmin):
    list_display = ("obligation", "old_date", "new_date", "reason", "changed_by", "changed_at")


@admin.register(models.ExtensionRequest)
class ExtensionRequestAdmin(ReadOnlyAdmin):
    list_display = ("obligation", "requested_date", "status", "requested_by", "decided_by")
    list_filter = ("status",)


@admin.register(models.Objection)
class ObjectionAdmin(ReadOnlyAdmin):
    list_display = ("obligation", "department", "status", "raised_by", "decided_by")
    list_filter = ("status",)


@admin.register(models.ReportingRequirement)
class ReportingRequirementAdmin(ReadOnlyAdmin):
    list_display = ("obligation", "frequency", "starts_on", "active")


@admin.register(models.Carryover)
class CarryoverAdmin(ReadOnlyAdmin):
    list_display = ("obligation", "version", "old_clause", "new_clause", "lineage", "outcome", "effective_on")
    list_filter = ("version", "outcome", "lineage")


class AuditActionFilter(admin.SimpleListFilter):
    title = "操作"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return list(audit.AuditAction.choices)

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(models.AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "action_name", "obligation", "actor")
    list_filter = (AuditActionFilter,)
    fields = ("at", "action_name", "action", "obligation", "actor", "before", "after", "algorithm", "prev_hash", "hash")
    readonly_fields = ("action_name",)

    @admin.display(description="操作", ordering="action")
    def action_name(self, entry):
        return audit.action_label(entry.action)


@admin.register(models.AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = (number, "entry_id", "algorithm", "length", "reason", "signed_at")
    list_filter = ("reason",)


class BodyProposalForm(forms.ModelForm):
    class Meta:
        model = law.BodyProposal
        fields = ("level", "kind", "department", "departments", "body_class")
        help_texts = {
            "department": "选择一个现有机构 = 该称谓是现有机构的另一种说法；三项都留空保存 = 确认为新机构",
            "departments": "该称谓指多个现有机构，每个机构各自承担一项义务",
            "body_class": "该称谓指一类机构（如“县级以上人民政府”），按类别成员各自承担义务，类别调整后下次导入生效",
        }

    def clean(self):
        data = super().clean()
        chosen = [bool(data.get("department")), bool(data.get("departments")), bool(data.get("body_class"))]
        if sum(chosen) > 1:
            raise forms.ValidationError("“对应机构”“对应机构（多个）”“对应机构类别”只能选择其一")
        return data


@admin.register(law.BodyProposal)
class BodyProposalAdmin(admin.ModelAdmin):
    """Confirm a proposed body (save choosing nothing), or map it onto an existing body, onto several
    bodies or onto a class of bodies (choose and save). Every decision goes through the services,
    which audit it and create the waiting obligations."""

    form = BodyProposalForm
    list_display = ("name", "level", "kind", "status", "maps_to", "regulation", "waiting")
    list_filter = ("status",)
    readonly_fields = ("name", "status", "regulation", "proposed_at", "decided_at", "decided_by", "clauses")
    filter_horizontal = ("departments",)
    actions = ["confirm_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != law.BodyProposal.Status.PROPOSED:
            return (*self.readonly_fields, "level", "kind", "department", "departments", "body_class")
        return self.readonly_fields

    @admin.display(description="对应")
    def maps_to(self, obj):
        if obj.body_class_id:
            return f"类别：{obj.body_class.name}"
        if obj.department_id:
            return obj.department.name
        return "、".join(d.short_name for d in obj.departments.all()) or "—"

    @admin.display(description="待确认条款")
    def waiting(self, obj):
        return len(obj.waiting_clauses())

    @admin.display(description="引用该称谓的条款")
    def clauses(self, obj):
        return "；".join(f"《{c.regulation.title}》{c.citation}" for c in obj.waiting_clauses()) or "—"

    def save_model(self, request, obj, form, change):
        # The admin is no back door: a decision is the service's, with its audit entries.
        if obj.status != law.BodyProposal.Status.PROPOSED:
            return
        several = list(form.cleaned_data.get("departments") or [])
        try:
            if obj.body_class_id:
                decision = services.body_proposal_map_class(proposal=obj, actor=request.user, body_class=obj.body_class)
            elif several:
                decision = services.body_proposal_map_several(proposal=obj, actor=request.user, departments=several)
            elif obj.department_id:
                decision = services.body_proposal_map(proposal=obj, actor=request.user, department=obj.department)
            else:
                decision = services.body_proposal_confirm(
                    proposal=obj, actor=request.user, level=obj.level, kind=obj.kind
                )
        except ServiceError as exc:
            request.proposal_failure = exc.message  # shown by response_change
            return
        obj.refresh_from_db()
        self.message_user(request, f"“{obj.name}” → {decision.target}：新生成义务 {decision.obligations_created} 项")

    def save_related(self, request, form, formsets, change):
        pass  # the service set what the decision needs; the form writes nothing itself

    def response_change(self, request, obj):
        failure = getattr(request, "proposal_failure", None)
        if failure:
            self.message_user(request, failure, level=messages.ERROR)
            return redirect(reverse("admin:regulations_bodyproposal_change", args=[obj.pk]))
        return super().response_change(request, obj)

    @admin.action(description="确认所选为新机构（层级、类型按建议）")
    def confirm_selected(self, request, queryset):
        for proposal in queryset.filter(status=law.BodyProposal.Status.PROPOSED):
            try:
                decision = services.body_proposal_confirm(proposal=proposal, actor=request.user)
            except ServiceError as exc:
                self.message_user(request, f"“{proposal.name}”：{exc.message}", level=messages.ERROR)
                continue
            self.message_user(request, f"“{proposal.name}”已确认：新生成义务 {decision.obligations_created} 项")


def _split_phrases(text: str) -> list[str]:
    """One phrase a line (a comma or 、 also separates)."""
    return [p.strip() for p in re.split(r"[\n、，,]", text) if p.strip()]


class BodyClassForm(forms.ModelForm):
    phrase_text = forms.CharField(
        label="其他称谓",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="法规中指本类别的其他写法，每行一个（类别名称本身总是称谓）",
    )

    class Meta:
        model = law.BodyClass
        fields = ("name", "phrase_text", "members", "zones_join", "note")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].required = True
        if self.instance.pk:
            self.fields["phrase_text"].initial = "\n".join(self.instance.phrases)


@admin.register(law.BodyClass)
class BodyClassAdmin(admin.ModelAdmin):
    """The classes of bodies (县级以上人民政府 …): edited here, saved through the service, which
    audits every change. The next import of any regulation resolves the class as it then stands."""

    form = BodyClassForm
    list_display = ("name", "phrase_list", "member_count", "zones_join", "note")
    filter_horizontal = ("members",)
    readonly_fields = ("mapped_names",)
    actions = ["resync_regulations"]

    @admin.action(description="按当前机构类别重新核对全部已导入法规（新成员生成义务，移出成员的义务废止）")
    def resync_regulations(self, request, queryset):
        try:
            result = services.regulations_resync(actor=request.user)
        except ServiceError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return
        self.message_user(
            request,
            f"已核对法规 {result.regulations} 部：新生成义务 {result.obligations_created} 项，"
            f"废止已有进展的义务 {len(result.superseded)} 项",
        )

    def has_delete_permission(self, request, obj=None):
        return False  # a class may carry names mapped onto it; change its members instead

    @admin.display(description="称谓")
    def phrase_list(self, obj):
        return "、".join(obj.all_phrases())

    @admin.display(description="成员数")
    def member_count(self, obj):
        return len(obj.member_bodies())

    @admin.display(description="归入本类别的称谓（待确认机构处理结果）")
    def mapped_names(self, obj):
        return "、".join(obj.proposals.values_list("name", flat=True)) or "—"

    def save_model(self, request, obj, form, change):
        try:
            saved = services.body_class_save(
                actor=request.user,
                body_class=obj if change else None,
                name=form.cleaned_data["name"],
                phrases=_split_phrases(form.cleaned_data.get("phrase_text") or ""),
                members=list(form.cleaned_data["members"]),
                zones_join=form.cleaned_data.get("zones_join", False),
                note=form.cleaned_data.get("note", ""),
            )
        except ServiceError as exc:
            request.class_failure = exc.message  # shown by response_add / response_change
            return
        obj.pk = saved.pk
        self.message_user(request, f"机构类别“{saved.name}”已保存，下次导入法规时按新成员生效")

    def save_related(self, request, form, formsets, change):
        pass  # the service set the members, with its audit entry

    def _failed(self, request, to):
        self.message_user(request, request.class_failure, level=messages.ERROR)
        return redirect(to)

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "class_failure", None):
            return self._failed(request, reverse("admin:regulations_bodyclass_add"))
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if getattr(request, "class_failure", None):
            return self._failed(request, reverse("admin:regulations_bodyclass_change", args=[obj.pk]))
        return super().response_change(request, obj)


@admin.register(models.OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """What the outbox holds and whether it went out (delivered by the workers); deleting an
    undelivered message would silently drop a notice."""

    list_display = [number, "event", "obligation", "actor", "created_at", "delivered_at", "attempts"]
    list_filter = ["event", ("delivered_at", admin.EmptyFieldListFilter)]
