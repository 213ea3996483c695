"""The admin looks at the regulation and the work done on it; it changes none of it.

Every change of workflow state, dates, assignments, progress, evidence, milestones, extension
requests and objections goes through obligations.services (with its audit entry and notices),
from the app's pages or the API. The regulation's text changes only through the import (the
import page below or import_regulation), body proposals only through their services. An admin
page that could save or delete these rows would be a way round all of that.
"""

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
        if request.method == "POST":
            form = RegulationUploadForm(request.POST, request.FILES)
            if form.is_valid():
                context.update(regulation_upload.preview(request, form) or {})
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
        fields = ("level", "kind", "department")
        help_texts = {"department": "选择现有机构 = 该称谓是现有机构的另一种说法；留空保存 = 确认为新机构"}


@admin.register(law.BodyProposal)
class BodyProposalAdmin(admin.ModelAdmin):
    """Confirm a proposed body (save without choosing a body) or map it onto an existing one
    (choose the body and save). Both go through the services, which create the waiting obligations."""

    form = BodyProposalForm
    list_display = ("name", "level", "kind", "status", "department", "regulation", "waiting")
    list_filter = ("status",)
    readonly_fields = ("name", "status", "regulation", "proposed_at", "decided_at", "decided_by", "clauses")
    actions = ["confirm_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != law.BodyProposal.Status.PROPOSED:
            return (*self.readonly_fields, "level", "kind", "department")
        return self.readonly_fields

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
        try:
            if obj.department_id:
                decision = services.body_proposal_map(proposal=obj, actor=request.user, department=obj.department)
            else:
                decision = services.body_proposal_confirm(
                    proposal=obj, actor=request.user, level=obj.level, kind=obj.kind
                )
        except ServiceError as exc:
            request.proposal_failure = exc.message  # shown by response_change
            return
        obj.refresh_from_db()
        self.message_user(
            request, f"“{obj.name}” → {decision.department.name}：新生成义务 {decision.obligations_created} 项"
        )

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


@admin.register(models.OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """What the outbox holds and whether it went out (delivered by the workers); deleting an
    undelivered message would silently drop a notice."""

    list_display = [number, "event", "obligation", "actor", "created_at", "delivered_at", "attempts"]
    list_filter = ["event", ("delivered_at", admin.EmptyFieldListFilter)]
