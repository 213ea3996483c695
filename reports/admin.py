from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    """Jobs are written by the app only; the admin looks (deleting one would orphan its file)."""

    list_display = ("created_at", "requested_by", "format", "status", "total_rows", "rows_done", "finished_at")
    list_filter = ("format", "status")
