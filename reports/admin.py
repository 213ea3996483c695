from django.contrib import admin

from .models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    """Jobs are written by the app only; the admin looks."""

    list_display = ("created_at", "requested_by", "format", "status", "total_rows", "rows_done", "finished_at")
    list_filter = ("format", "status")
    readonly_fields = [f.name for f in ExportJob._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
