# The outbox row now belongs to obligations (obligations/migrations/0005_outbox_moves_here.py);
# the table stays, only the state leaves this app. Event notices get kinds of their own, some
# names longer than the old 16 characters.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0007_calendar_moves_to_core"),
        ("obligations", "0005_outbox_moves_here"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="OutboxMessage")],
            database_operations=[],
        ),
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(
                choices=[
                    ("reminder", "期限提醒"),
                    ("overdue", "逾期提醒"),
                    ("milestone", "节点提醒"),
                    ("extension", "延期待审批"),
                    ("escalation", "逾期升级"),
                    ("digest", "每日汇总"),
                    ("progress", "协办进展"),
                    ("submitted", "提交核验"),
                    ("returned", "退回修改"),
                    ("verified", "核验通过"),
                    ("reopened", "重新打开"),
                    ("due_date_changed", "期限调整"),
                    ("reassigned", "责任单位调整"),
                    ("cooperating_added", "新增协办单位"),
                    ("extension_requested", "延期申请"),
                    ("extension_decided", "延期审批结果"),
                    ("objection_raised", "分工异议"),
                    ("objection_decided", "异议处理结果"),
                    ("milestone_moved", "节点日期调整"),
                    ("reporting_required", "定期报送要求"),
                ],
                max_length=32,
                verbose_name="类型",
            ),
        ),
    ]
