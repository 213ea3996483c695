"""The law's own pages in the admin: read only. The text changes only through the import (the
regulation's import page, obligations/admin.py, or import_regulation)."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin, ReadOnlyInline

from . import models


@admin.register(models.RegulationVersion)
class RegulationVersionAdmin(ReadOnlyAdmin):
    list_display = ("regulation", "number", "kind", "adopted_on", "effective_on", "imported_at")
    list_filter = ("regulation", "kind")


@admin.register(models.Amendment)
class AmendmentAdmin(ReadOnlyAdmin):
    list_display = ("regulation", "kind", "effective_on", "state", "confirmed_by", "confirmed_at", "applied_at")
    list_filter = ("regulation", "state")
    exclude = ("source_text",)


@admin.register(models.Chapter)
class ChapterAdmin(ReadOnlyAdmin):
    list_display = ("regulation", "label", "title")
    list_filter = ("regulation",)


class ParagraphInline(ReadOnlyInline):
    model = models.Paragraph


@admin.register(models.Article)
class ArticleAdmin(ReadOnlyAdmin):
    list_display = ("label", "regulation", "version", "chapter")
    list_filter = ("regulation", "version", "chapter")
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
