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


class ExternalIdentity(models.Model):
    """Who a person is at the unified identity service (统一身份认证): the provider's stable subject
    (OIDC `sub`, the CAS user). Sign-in finds the account through this, never by username, so a
    person at the identity service can never take over a local account (the admin, break-glass)."""

    class Provider(models.TextChoices):
        OIDC = "oidc", "OpenID Connect"
        CAS = "cas", "CAS"

    user = models.ForeignKey(User, verbose_name="用户", on_delete=models.CASCADE, related_name="external_identities")
    provider = models.CharField("认证方式", max_length=8, choices=Provider.choices)
    subject = models.CharField("统一身份标识", max_length=255)
    claims = models.JSONField("最近一次声明", default=dict, blank=True)
    first_seen = models.DateTimeField("首次登录")
    last_seen = models.DateTimeField("最近登录")

    class Meta:
        verbose_name = "统一身份认证账号"
        verbose_name_plural = "统一身份认证账号"
        constraints = [models.UniqueConstraint(fields=["provider", "subject"], name="external_identity_unique")]

    def __str__(self) -> str:
        return f"{self.get_provider_display()}:{self.subject}"


class BodyMapping(models.Model):
    """Which body (所属机构) a claim or CAS attribute gives a person.

    With a value: a person whose claim holds that value belongs to the chosen body. Without a
    value: the claim's value is itself the body's 机构代码. Rows are tried in order; the first that
    gives an active body wins."""

    claim = models.CharField(
        "声明或属性名", max_length=100, validators=[safe_text], help_text="例如 org_code、ou、groups"
    )
    value = models.CharField(
        "取值", max_length=200, blank=True, validators=[safe_text], help_text="留空：声明的值就是本系统的机构代码"
    )
    department = models.ForeignKey(
        Department, verbose_name="所属机构", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    sort_order = models.PositiveIntegerField("排序", default=0)

    class Meta:
        verbose_name = "统一身份认证机构映射"
        verbose_name_plural = "统一身份认证机构映射"
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        target = self.department.short_name if self.department_id else "机构代码"
        return f"{self.claim}={self.value or '*'} → {target}"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.value and self.department_id is None:
            raise ValidationError({"department": "填写了取值时必须选择所属机构"})
        if not self.value and self.department_id is not None:
            raise ValidationError({"value": "选择了所属机构时必须填写取值（留空表示声明的值就是机构代码）"})


class RoleMapping(models.Model):
    """Which role a claim or CAS attribute gives a person (a group → 牵头部门负责人 / 审计人员 /
    部门经办人). Rows are tried in order; the first match wins; no match: 部门经办人. The admin role
    is never given by the identity service: admins are local accounts."""

    ROLES = [(value, label) for value, label in User.Role.choices if value != User.Role.ADMIN]

    claim = models.CharField("声明或属性名", max_length=100, validators=[safe_text], help_text="例如 groups、role")
    value = models.CharField("取值", max_length=200, validators=[safe_text])
    role = models.CharField("角色", max_length=16, choices=ROLES)
    sort_order = models.PositiveIntegerField("排序", default=0)

    class Meta:
        verbose_name = "统一身份认证角色映射"
        verbose_name_plural = "统一身份认证角色映射"
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return f"{self.claim}={self.value} → {self.get_role_display()}"
