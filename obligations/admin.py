"""The admin looks at the regulation and the work done on it; it changes none of it.

Every change of workflow state, dates, assignments, progress, evidence, milestones, extension
requests and objections goes through obligations.services (with its audit entry and notices),
from the app's pages or the API. The regulation's text changes only through import_regulation.
An admin page that could save or delete these rows would be a way round all of that.
"""

from django.contrib import admin

from core.admin import ReadOnlyAdmin, ReadOnlyInline, number

from . import audit, models


@admin.register(models.Regulation)
class RegulationAdmin(ReadOnlyAdmin):
    list_display = ("title", "code", "effective_date", "imported_at")


@admin.register(models.Chapter)
class ChapterAdmin(ReadOnlyAdmin):
    list_display = ("regulation", "label", "title")
    list_filter = ("regulation",)


class ParagraphInline(ReadOnlyInline):
    model = models.Paragraph


@admin.register(models.Article)
class ArticleAdmin(ReadOnlyAdmin):
    list_display = ("label", "regulation", "chapter")
    list_filter = ("regulation", "chapter")
    search_fields = ("text",)
    inlines = [ParagraphInline]


@admin.register(models.Clause)
class ClauseAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "kind", "subject", "superseded_at")
    list_filter = ("kind", "regulation")
    search_fields = ("text", "subject")


@admin.register(models.StandingResponsibility)
class StandingResponsibilityAdmin(ReadOnlyAdmin):
    list_display = ("department", "article", "text")


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
        return list(audit.ACTION_LABELS.items())

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
