# The outbox row moves from notifications to obligations: the services write it themselves, and
# obligations may not import notifications. The table keeps its name (db_table): only Django's
# state and the content type move (notifications/migrations/0008 drops the old state).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="obligations", model="outboxmessage").exists():
        ContentType.objects.filter(app_label="notifications", model="outboxmessage").update(app_label="obligations")


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="notifications", model="outboxmessage").exists():
        ContentType.objects.filter(app_label="obligations", model="outboxmessage").update(app_label="notifications")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("obligations", "0004_alter_duedatechange_reason"),
        # The table is created there.
        ("notifications", "0007_calendar_moves_to_core"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="OutboxMessage",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("event", models.CharField(choices=[("progress.cooperating", "协办单位报送进展"), ("obligation.submitted", "提交核验"), ("obligation.returned", "退回"), ("obligation.verified", "核验通过"), ("obligation.reopened", "重新打开"), ("obligation.due_date", "设定或调整完成期限"), ("obligation.reassigned", "调整责任单位"), ("obligation.cooperating", "增加协办单位"), ("extension.requested", "申请延期"), ("extension.decided", "审批延期申请"), ("objection.raised", "提出分工异议"), ("objection.decided", "处理分工异议"), ("milestone.due_date", "调整工作节点日期"), ("reporting.required", "要求定期报送")], max_length=32, verbose_name="事件")),
                        ("payload", models.JSONField(blank=True, default=dict, verbose_name="数据")),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="写入时间")),
                        ("delivered_at", models.DateTimeField(blank=True, null=True, verbose_name="投递时间")),
                        ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="失败次数")),
                        ("last_error", models.TextField(blank=True, verbose_name="最近错误")),
                        ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("obligation", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="outbox_messages", to="obligations.obligation")),
                    ],
                    options={
                        "verbose_name": "待投递事件",
                        "verbose_name_plural": "待投递事件",
                        "db_table": "notifications_outboxmessage",
                        "ordering": ["id"],
                        "indexes": [models.Index(condition=models.Q(("delivered_at__isnull", True)), fields=["id"], name="outbox_pending")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
