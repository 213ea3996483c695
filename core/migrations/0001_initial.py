# The official holiday calendar moves from notifications to core. Its tables stay where they are
# (db_table keeps their names): only Django's state and the content types move.

import django.db.models.deletion
from django.db import migrations, models

import core.validators


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("officialcalendar", "officialcalendarday"):
        if not ContentType.objects.filter(app_label="core", model=model).exists():
            ContentType.objects.filter(app_label="notifications", model=model).update(app_label="core")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("notifications", "0006_names_follow_the_text_rule"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="OfficialCalendar",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("year", models.PositiveSmallIntegerField(unique=True, verbose_name="年份")),
                        ("source", models.CharField(blank=True, max_length=200, validators=[core.validators.safe_text], verbose_name="依据文件")),
                        ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="录入时间")),
                    ],
                    options={
                        "verbose_name": "法定节假日安排",
                        "verbose_name_plural": "法定节假日安排",
                        "db_table": "notifications_officialcalendar",
                        "ordering": ["-year"],
                    },
                ),
                migrations.CreateModel(
                    name="OfficialCalendarDay",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("date", models.DateField(unique=True, verbose_name="日期")),
                        ("kind", models.CharField(choices=[("holiday", "放假"), ("workday", "调休上班")], max_length=16, verbose_name="类型")),
                        ("name", models.CharField(blank=True, max_length=50, validators=[core.validators.safe_text], verbose_name="节日")),
                        ("calendar", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="days", to="core.officialcalendar")),
                    ],
                    options={
                        "verbose_name": "节假日/调休日",
                        "verbose_name_plural": "节假日/调休日",
                        "db_table": "notifications_officialcalendarday",
                        "ordering": ["date"],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
    ]
