from django.contrib import admin

from . import models


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is append-only: the admin may look, never edit or delete."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.Regulation)
class RegulationAdmin(admin.ModelAdmin):
    list_display = ("title", "code", "effective_date", "imported_at")
    readonly_fields = ("source_sha256", "imported_at", "updated_at")


@admin.register(models.Chapter)
class ChapterAdmin(admin.ModelAdmin):
    list_display = ("regulation", "label", "title")
    list_filter = ("regulation",)


class ParagraphInline(admin.TabularInline):
    model = models.Paragraph
    extra = 0


@admin.register(models.Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("label", "regulation", "chapter")
    list_filter = ("regulation", "chapter")
    search_fields = ("text",)
    inlines = [ParagraphInline]


@admin.register(models.Clause)
class ClauseAdmin(admin.ModelAdmin):
    list_display = ("__str__", "kind", "subject", "superseded_at")
    list_filter = ("kind", "regulation")
    search_fields = ("text", "subject")
    filter_horizontal = ("responsible", "cooperating")


@admin.register(models.StandingResponsibility)
class StandingResponsibilityAdmin(admin.ModelAdmin):
    list_display = ("department", "article", "text")


@admin.register(models.Obligation)
class ObligationAdmin(admin.ModelAdmin):
    list_display = ("__str__", "department", "status", "due_date", "superseded_at")
    list_filter = ("status", "department__level", "department")
    search_fields = ("clause__text",)
    raw_id_fields = ("clause",)
    filter_horizontal = ("cooperating",)
    readonly_fields = ("version", "submitted_at", "submitted_by", "verified_at", "verified_by", "last_activity_at")


@admin.register(models.ProgressEntry)
class ProgressEntryAdmin(ReadOnlyAdmin):
    list_display = ("obligation", "department", "author", "created_at", "percent")


@admin.register(models.Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = ("obligation", "kind", "description", "original_name", "size", "uploaded_by", "uploaded_at")


@admin.register(models.Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    list_display = ("obligation", "title", "due_date", "done_at")


@admin.register(models.DueDateChange)
class DueDateChangeAdmin(ReadOnlyAdmin):
    list_display = ("obligation", "old_date", "new_date", "reason", "changed_by", "changed_at")


@admin.register(models.ExtensionRequest)
class ExtensionRequestAdmin(admin.ModelAdmin):
    list_display = ("obligation", "requested_date", "status", "requested_by", "decided_by")
    list_filter = ("status",)


@admin.register(models.Objection)
class ObjectionAdmin(admin.ModelAdmin):
    list_display = ("obligation", "department", "status", "raised_by", "decided_by")
    list_filter = ("status",)


@admin.register(models.ReportingRequirement)
class ReportingRequirementAdmin(admin.ModelAdmin):
    list_display = ("obligation", "frequency", "starts_on", "active")


@admin.register(models.AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "action", "obligation", "actor")
    list_filter = ("action",)


@admin.register(models.OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """What the outbox holds and whether it went out (delivered by the workers)."""

    list_display = ["id", "event", "obligation", "actor", "created_at", "delivered_at", "attempts"]
    list_filter = ["event", ("delivered_at", admin.EmptyFieldListFilter)]
