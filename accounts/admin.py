from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import ApiToken, Department, User


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "short_name", "level", "kind", "active")
    list_filter = ("level", "kind", "active")
    search_fields = ("code", "name", "short_name")

    def get_readonly_fields(self, request, obj=None):
        # Audit entries and reports name bodies by code: a changed code would change what they say.
        return ("code",) if obj is not None else ()


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "full_name", "department", "role", "is_active")
    list_filter = ("role", "is_active", "department__level")
    search_fields = ("username", "full_name", "email")
    fieldsets = BaseUserAdmin.fieldsets + (("机构与角色", {"fields": ("full_name", "department", "role")}),)
    add_fieldsets = BaseUserAdmin.add_fieldsets + (("机构与角色", {"fields": ("full_name", "department", "role")}),)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens can be seen (never their key) and revoked (deleted) here; they are created through the API."""

    list_display = ("prefix", "name", "user", "created_at", "last_used_at")
    search_fields = ("prefix", "name", "user__username")
    readonly_fields = ("user", "name", "prefix", "created_at", "last_used_at")
    exclude = ("digest",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
