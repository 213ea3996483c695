from django.contrib.auth.models import AbstractUser
from django.db import models

# Names typed in the admin follow the same rule as everything else people type.
from core.validators import safe_text


class Department(models.Model):
    """A body the regulation names: a government, a city department, a court.

    The registry is loaded from fixtures/departments.json; `phrases` are the ways a law
    names the body ("工业和信息化部门", "市政府" …) and drive the parser's resolution; a phrase naming
    a set of bodies ("县级以上人民政府") is a class of bodies (regulations.models.BodyClass).
    """

    class Level(models.TextChoices):
        CITY = "city", "市级"
        DISTRICT = "district", "区县级"
        ZONE = "zone", "功能区"

    class Kind(models.TextChoices):
        GOVERNMENT = "government", "人民政府"
        DEPARTMENT = "department", "政府部门"
        COURT = "court", "审判机关"
        ZONE = "zone", "功能区管委会"

    code = models.CharField("机构代码", max_length=32, unique=True)
    name = models.CharField("机构全称", max_length=100, unique=True, validators=[safe_text])
    short_name = models.CharField("简称", max_length=50, validators=[safe_text])
    level = models.CharField("层级", max_length=16, choices=Level.choices)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    phrases = models.JSONField("法规中的称谓", default=list, blank=True)
    other_names = models.JSONField("其他名称", default=list, blank=True)
    note = models.CharField("备注", max_length=200, blank=True, validators=[safe_text])
    active = models.BooleanField("启用", default=True)
    sort_order = models.PositiveIntegerField("排序", default=0)

    class Meta:
        verbose_name = "机构"
        verbose_name_plural = "机构"
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A civil servant: belongs to one body and has one role."""

    class Role(models.TextChoices):
        STAFF = "staff", "部门经办人"
        LEAD = "lead", "牵头部门负责人"
        AUDITOR = "auditor", "审计人员"
        ADMIN = "admin", "系统管理员"

    full_name = models.CharField("姓名", max_length=50, blank=True, validators=[safe_text])
    department = models.ForeignKey(
        Department, verbose_name="所属机构", on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    role = models.CharField("角色", max_length=16, choices=Role.choices, default=Role.STAFF)

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    @property
    def is_lead(self) -> bool:
        return self.role == self.Role.LEAD

    @property
    def is_auditor(self) -> bool:
        return self.role == self.Role.AUDITOR

    @property
    def is_admin_role(self) -> bool:
        return self.role == self.Role.ADMIN or self.is_superuser

    @property
    def sees_everything(self) -> bool:
        """Lead, auditors and admins see every body's obligations; staff see their own body's."""
        return self.role in {self.Role.LEAD, self.Role.AUDITOR, self.Role.ADMIN} or self.is_superuser

    # Which bodies' work a person may see, as a whole body (its ledger, its report, its share of
    # the dashboard, a body filter's choices): written once here, as a query and for one body in
    # hand. The obligations staff see also include those their body cooperates on
    # (obligations.models.ObligationQuerySet.visible_to).
    def visible_bodies(self):
        if not self.is_authenticated:
            return Department.objects.none()
        if self.sees_everything:
            return Department.objects.filter(active=True)
        return Department.objects.filter(pk=self.department_id)  # none when the account has no body

    def may_see_body(self, department: "Department") -> bool:
        if not self.is_authenticated:
            return False
        return self.sees_everything or (self.department_id is not None and self.department_id == department.pk)


class ApiToken(models.Model):
    """An API token. Only its SHA-256 digest is stored: the key is shown once, when created.

    A stolen database backup therefore holds no usable token. `prefix` (the key's first
    characters) lets a person tell their tokens apart in a list without revealing them.
    """

    user = models.ForeignKey(User, verbose_name="用户", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("名称", max_length=100, blank=True, validators=[safe_text])
    prefix = models.CharField("前缀", max_length=16)
    digest = models.CharField("摘要", max_length=64, unique=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)

    class Meta:
        verbose_name = "API 令牌"
        verbose_name_plural = "API 令牌"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
