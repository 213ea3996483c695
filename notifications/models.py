"""Reminders, the messages they become, and how those messages reach people.

- `Reminder` is the exactly-once ledger: one row per (target, stage, due date, recipient),
  unique in the database. A sweep inserts the row first ("claimed"), sends, then marks it sent.
- `Notification` is the message itself (also what the web UI lists as 站内消息).
- `Delivery` is one attempt record per message and channel (email, webhook), retried with backoff.
- `ReminderSettings` is a singleton the admin edits: intervals and recipients, no deploy needed.
"""

import datetime as dt
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models

from core import clock
from core.validators import safe_text

from .addresses import validate_webhook_url


def default_before_days() -> list[int]:
    return [7, 1]


class ReminderSettings(models.Model):
    """The one row of reminder settings (pk=1). Read with `ReminderSettings.load()`."""

    before_days = models.JSONField(
        "到期前提醒天数", default=default_before_days, help_text="到期前多少天提醒，例如 [7, 1]"
    )
    remind_on_due_day = models.BooleanField("到期当日提醒", default=True)
    overdue_repeat_days = models.PositiveSmallIntegerField(
        "逾期重复提醒间隔（天）", default=7, help_text="逾期首日提醒一次，此后每隔该天数再提醒"
    )
    escalate_after_days = models.PositiveSmallIntegerField("逾期超过多少天升级至牵头部门", default=7)
    notify_responsible_staff = models.BooleanField("提醒责任单位经办人", default=True)
    escalate_to_leads = models.BooleanField("逾期升级通知牵头部门负责人", default=True)
    escalation_to_staff = models.BooleanField("升级时同时通知责任单位经办人（需确认已知悉）", default=True)
    remind_milestones = models.BooleanField("提醒工作节点", default=True)
    remind_extensions = models.BooleanField("提醒待审批的延期申请", default=True)
    daily_digest_to_leads = models.BooleanField("向牵头部门负责人发送每日汇总", default=True)
    group_reminders = models.BooleanField(
        "合并同一人的多条提醒",
        default=True,
        help_text="一次扫描中同一人有多条提醒时，合并为一封邮件/一条消息（每条仍单独记录、只发一次）",
    )
    shift_to_working_day = models.BooleanField(
        "遇节假日提前至前一工作日", default=True, help_text="到期前/当日的提醒若落在节假日，改在之前最后一个工作日发送"
    )
    claim_lease_seconds = models.PositiveIntegerField(
        "认领租期（秒）",
        default=600,
        help_text="已认领但未发送的提醒，超过该时间视为发送进程已中断，由下一次扫描重新发送。须大于单条消息的最长发送时间。",
    )
    max_delivery_attempts = models.PositiveSmallIntegerField("每个渠道最多尝试次数", default=5)
    retry_backoff_seconds = models.PositiveIntegerField("重试退避基数（秒）", default=60)
    webhook_timeout_seconds = models.FloatField("Webhook 超时（秒）", default=5.0)
    send_batch_size = models.PositiveIntegerField("每批发送邮件数", default=500)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "提醒设置"
        verbose_name_plural = "提醒设置"

    def __str__(self) -> str:
        return "提醒设置"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    def clean(self):
        days = self.before_days
        if not isinstance(days, list) or not all(isinstance(d, int) and d > 0 for d in days):
            raise ValidationError({"before_days": "请填写正整数列表，例如 [7, 1]"})
        if self.overdue_repeat_days < 1:
            raise ValidationError({"overdue_repeat_days": "间隔至少为 1 天"})

    @classmethod
    def load(cls) -> "ReminderSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class WebhookEndpoint(models.Model):
    """A group robot (政务微信/钉钉 style): messages are POSTed to it as JSON."""

    name = models.CharField("名称", max_length=100, validators=[safe_text])
    url = models.URLField(
        "地址",
        max_length=500,
        # urllib would follow ftp:// and file:// too; a robot is always HTTP(S).
        validators=[URLValidator(schemes=["http", "https"], message="请输入以 http:// 或 https:// 开头的地址")],
    )
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name="所属机构",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
        help_text="选择 Webhook 渠道的用户若未指定地址，使用本机构的地址",
    )
    active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "Webhook 地址"
        verbose_name_plural = "Webhook 地址"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        super().clean()
        if self.url:
            validate_webhook_url(self.url)


class NotificationPreference(models.Model):
    """Which channels a user wants. No row means the defaults: email and in-app."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name="用户", on_delete=models.CASCADE, related_name="notification_pref"
    )
    email = models.BooleanField("邮件", default=True)
    in_app = models.BooleanField("站内消息", default=True)
    webhook = models.BooleanField("Webhook（工作群机器人）", default=False)
    webhook_endpoint = models.ForeignKey(
        WebhookEndpoint, verbose_name="Webhook 地址", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "通知偏好"
        verbose_name_plural = "通知偏好"

    def __str__(self) -> str:
        return f"{self.user} 的通知偏好"


class ReminderSweep(models.Model):
    """One run of the reminder sweep that sent something. The notices it wrote carry it, so the
    notices page shows one entry per sweep (and can tell that a sweep repeats the last one's list).
    Notices written before sweeps had an identity have none and are grouped by the day sent."""

    started_at = models.DateTimeField("扫描时间", default=clock.now)

    class Meta:
        verbose_name = "提醒扫描"
        verbose_name_plural = "提醒扫描"
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"提醒扫描 {self.started_at:%Y-%m-%d %H:%M}"


class NotificationQuerySet(models.QuerySet):
    def decisions(self) -> "NotificationQuerySet":
        """Decisions and steps to act on (every kind the sweep does not send), and whatever asks
        for 已知悉 (an escalation): the page shows these first, apart from the reminders."""
        return self.filter(~models.Q(kind__in=Notification.REMINDER_KINDS) | models.Q(requires_ack=True))

    def reminders(self) -> "NotificationQuerySet":
        """The sweep's reminders that ask nothing back: the rest of `decisions()`."""
        return self.filter(kind__in=Notification.REMINDER_KINDS, requires_ack=False)

    def needing_attention(self) -> "NotificationQuerySet":
        """What needs the person (the nav badge, 待处理 on the page): an unread decision, or a
        notice asking for 已知悉 not yet acknowledged. An unread reminder alone does not: it
        repeats what the task list shows."""
        return self.filter(
            models.Q(read_at__isnull=True) & ~models.Q(kind__in=Notification.REMINDER_KINDS)
            | models.Q(requires_ack=True, acknowledged_at__isnull=True)
        )


class Notification(models.Model):
    """One message to one person. Escalations ask to be acknowledged (已知悉)."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", "期限提醒"
        OVERDUE = "overdue", "逾期提醒"
        MILESTONE = "milestone", "节点提醒"
        EXTENSION = "extension", "延期待审批"
        ESCALATION = "escalation", "逾期升级"
        DIGEST = "digest", "每日汇总"
        # What the sweep sends above; below, one kind per event of the outbox (a decision on an
        # obligation, or a step the lead must act on), named for the UI that shows them.
        PROGRESS = "progress", "协办进展"
        SUBMITTED = "submitted", "提交核验"
        RETURNED = "returned", "退回修改"
        VERIFIED = "verified", "核验通过"
        REOPENED = "reopened", "重新打开"
        DUE_DATE_CHANGED = "due_date_changed", "期限调整"
        REASSIGNED = "reassigned", "责任单位调整"
        COOPERATING_ADDED = "cooperating_added", "新增协办单位"
        EXTENSION_REQUESTED = "extension_requested", "延期申请"
        EXTENSION_DECIDED = "extension_decided", "延期审批结果"
        OBJECTION_RAISED = "objection_raised", "分工异议"
        OBJECTION_DECIDED = "objection_decided", "异议处理结果"
        MILESTONE_MOVED = "milestone_moved", "节点日期调整"
        REPORTING_REQUIRED = "reporting_required", "定期报送要求"
        AMENDED = "amended", "法规修订"
        # The lead's 下发台账 (notifications.ledger): one per body, not about one obligation.
        LEDGER = "ledger", "台账填报"

    # The lead's decisions on an obligation, as its body hears them (a "latest decision" banner).
    DECISION_KINDS = (
        Kind.RETURNED,
        Kind.VERIFIED,
        Kind.REOPENED,
        Kind.DUE_DATE_CHANGED,
        Kind.REASSIGNED,
        Kind.COOPERATING_ADDED,
        Kind.EXTENSION_DECIDED,
        Kind.OBJECTION_DECIDED,
        Kind.REPORTING_REQUIRED,
    )
    # What the sweep sends (reminders); every other kind is an event from the outbox.
    REMINDER_KINDS = (Kind.REMINDER, Kind.OVERDUE, Kind.MILESTONE, Kind.EXTENSION, Kind.ESCALATION, Kind.DIGEST)

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="接收人", on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField("类型", max_length=32, choices=Kind.choices)
    subject = models.CharField("标题", max_length=300)
    body = models.TextField("内容")
    body_html = models.TextField("邮件 HTML", blank=True)
    url = models.CharField("链接", max_length=500, blank=True)
    obligation = models.ForeignKey(
        "obligations.Obligation",
        verbose_name="义务",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    department = models.ForeignKey(
        "accounts.Department", verbose_name="单位", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    payload = models.JSONField("数据", default=dict, blank=True)
    in_app = models.BooleanField("站内显示", default=True)
    created_at = models.DateTimeField("时间", default=clock.now)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)
    requires_ack = models.BooleanField("需确认已知悉", default=False)
    acknowledged_at = models.DateTimeField("确认时间", null=True, blank=True)
    sweep = models.ForeignKey(
        ReminderSweep,
        verbose_name="提醒扫描",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notices",
    )

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = "通知"
        verbose_name_plural = "通知"
        ordering = ["-created_at", "-id"]
        indexes = [
            # The nav badge counts a user's unread in-app messages on every page.
            models.Index(
                fields=["recipient"], condition=models.Q(read_at__isnull=True, in_app=True), name="notif_unread"
            ),
            models.Index(fields=["recipient", "-created_at"], name="notif_recipient_time"),
        ]

    def __str__(self) -> str:
        return self.subject


class Reminder(models.Model):
    """The ledger: a reminder is sent at most once per (target, stage, due date, recipient).

    The unique constraint is the guarantee; the sweep's INSERT ... ON CONFLICT DO NOTHING is the
    claim. A row stays "claimed" while it is being sent; one claimed longer than the lease is
    taken over by the next sweep (its sender died)."""

    class TargetType(models.TextChoices):
        OBLIGATION = "obligation", "义务"
        MILESTONE = "milestone", "工作节点"
        EXTENSION = "extension", "延期申请"
        ESCALATION = "escalation", "逾期升级"
        DIGEST = "digest", "每日汇总"

    class Status(models.TextChoices):
        CLAIMED = "claimed", "发送中"
        SENT = "sent", "已发送"

    target_type = models.CharField("对象类型", max_length=16, choices=TargetType.choices)
    target_id = models.BigIntegerField("对象编号")
    stage = models.CharField("阶段", max_length=32)
    due_date = models.DateField("期限")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="接收人", on_delete=models.CASCADE, related_name="+"
    )
    obligation = models.ForeignKey(
        "obligations.Obligation",
        verbose_name="义务",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reminders",
    )
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.CLAIMED)
    claim_token = models.UUIDField("认领标识", default=uuid.uuid4)
    claimed_at = models.DateTimeField("认领时间", default=clock.now)
    scheduled_for = models.DateField("计划日期")
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    notification = models.ForeignKey(
        Notification, verbose_name="通知", on_delete=models.SET_NULL, null=True, blank=True, related_name="reminders"
    )

    class Meta:
        verbose_name = "提醒记录"
        verbose_name_plural = "提醒记录"
        ordering = ["-claimed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["target_type", "target_id", "stage", "due_date", "recipient"], name="reminder_once"
            )
        ]
        indexes = [
            # The sweep looks up what was already sent for the candidate targets.
            models.Index(fields=["target_type", "target_id"], name="reminder_target"),
            # Stale claims (a dead sender) are found by status and age.
            models.Index(fields=["claimed_at"], condition=models.Q(status="claimed"), name="reminder_stale_claims"),
        ]

    def __str__(self) -> str:
        return f"{self.get_target_type_display()}#{self.target_id} {self.stage} → {self.recipient_id}"


class Delivery(models.Model):
    """One message on one channel: attempts, last error, when to try again."""

    class Channel(models.TextChoices):
        EMAIL = "email", "邮件"
        WEBHOOK = "webhook", "Webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "待发送"
        SENT = "sent", "已发送"
        RETRYING = "retrying", "等待重试"
        FAILED = "failed", "发送失败"

    notification = models.ForeignKey(
        Notification, verbose_name="通知", on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField("渠道", max_length=16, choices=Channel.choices)
    endpoint = models.ForeignKey(
        WebhookEndpoint, verbose_name="Webhook 地址", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    key = models.UUIDField("幂等键", default=uuid.uuid4, unique=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    last_error = models.TextField("最近错误", blank=True)
    next_attempt_at = models.DateTimeField("下次尝试", null=True, blank=True)
    # Set by the retry pass that took this delivery (a conditional UPDATE), so that two passes
    # running at once never send the same retry twice.
    retry_token = models.UUIDField("重试认领标识", null=True, blank=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", default=clock.now)

    class Meta:
        verbose_name = "发送记录"
        verbose_name_plural = "发送记录"
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["notification", "channel"], name="one_delivery_per_channel")]
        indexes = [
            # retry_deliveries() picks up what is due for another attempt.
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="retrying"), name="delivery_retry_due")
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.get_status_display()}"


def backoff_delay(attempts: int, base_seconds: int) -> dt.timedelta:
    """Exponential backoff: base, 2×base, 4×base … capped at one day."""
    return dt.timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 86400))
