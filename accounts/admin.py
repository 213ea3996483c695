from axes import admin as axes_admin  # imported first: it registers the lockout models
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserCreationForm

from .models import ApiToken, BodyMapping, Department, ExternalIdentity, RoleMapping, User


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
    # The app's own fields first; Django's groups, per-user permissions and first/last name are not
    # used here (the role decides what a person may do: obligations.permissions), so not shown.
    fieldsets = (
        ("人员", {"fields": ("full_name", "department", "role")}),
        ("登录", {"fields": ("username", "password", "email")}),
        ("账号状态", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("时间", {"fields": ("last_login", "date_joined")}),
    )
    add_form = UserCreationForm
    add_form_template = "admin/accounts/user/add_form.html"
    add_fieldsets = (
        ("人员", {"fields": ("full_name", "department", "role")}),
        ("登录", {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),
    )
    filter_horizontal = ()
    readonly_fields = ("last_login", "date_joined")


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


class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    """axes' admin, with its status column in Chinese (axes composes it from English pieces)."""

    @admin.display(description="状态")
    def status(self, attempt):
        left = settings.AXES_FAILURE_LIMIT - attempt.failures_since_start
        return f"还可尝试 {left} 次" if left > 0 else "已锁定"


if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)
    admin.site.register(AccessAttempt, AccessAttemptAdmin)


@admin.register(BodyMapping)
class BodyMappingAdmin(admin.ModelAdmin):
    """统一身份认证 → 所属机构. Changes apply at each person's next sign-in."""

    list_display = ("claim", "value", "department", "sort_order")
    list_editable = ("sort_order",)
    autocomplete_fields = ("department",)


@admin.register(RoleMapping)
class RoleMappingAdmin(admin.ModelAdmin):
    """统一身份认证 → 角色 (牵头部门负责人 / 审计人员 / 部门经办人). No match: 部门经办人."""

    list_display = ("claim", "value", "role", "sort_order")
    list_editable = ("sort_order",)


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(admin.ModelAdmin):
    """Who signed in through the identity service, as whom; to look at (sign-in keeps them)."""

    list_display = ("user", "provider", "subject", "first_seen", "last_seen")
    list_filter = ("provider",)
    search_fields = ("subject", "user__username", "user__full_name")
    readonly_fields = ("user", "provider", "subject", "claims", "first_seen", "last_seen")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
