# The law moves to its own app (regulations/). Its tables keep their names; only Django's state
# changes here, and the content types follow so admin permissions and log entries stay attached.

import django.db.models.deletion
from django.db import migrations, models

LAW_MODELS = ["regulation", "chapter", "article", "paragraph", "clause", "standingresponsibility", "bodyproposal"]


def move_content_types(apps, schema_editor, source="obligations", target="regulations"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in LAW_MODELS:
        if ContentType.objects.filter(app_label=target, model=model).exists():
            continue
        ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="regulations", target="obligations")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("obligations", "0009_clock_defaults"),
        ("regulations", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="article",
                    name="chapter",
                ),
                migrations.RemoveField(
                    model_name="article",
                    name="regulation",
                ),
                migrations.RemoveField(
                    model_name="standingresponsibility",
                    name="article",
                ),
                migrations.RemoveField(
                    model_name="clause",
                    name="article",
                ),
                migrations.RemoveField(
                    model_name="paragraph",
                    name="article",
                ),
                migrations.RemoveField(
                    model_name="bodyproposal",
                    name="decided_by",
                ),
                migrations.RemoveField(
                    model_name="bodyproposal",
                    name="department",
                ),
                migrations.RemoveField(
                    model_name="bodyproposal",
                    name="regulation",
                ),
                migrations.RemoveField(
                    model_name="chapter",
                    name="regulation",
                ),
                migrations.RemoveField(
                    model_name="clause",
                    name="cooperating",
                ),
                migrations.RemoveField(
                    model_name="clause",
                    name="regulation",
                ),
                migrations.RemoveField(
                    model_name="clause",
                    name="responsible",
                ),
                migrations.AlterField(
                    model_name="obligation",
                    name="clause",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="obligations",
                        to="regulations.clause",
                        verbose_name="条款",
                    ),
                ),
                migrations.RemoveField(
                    model_name="standingresponsibility",
                    name="regulation",
                ),
                migrations.RemoveField(
                    model_name="standingresponsibility",
                    name="department",
                ),
                migrations.DeleteModel(
                    name="Article",
                ),
                migrations.DeleteModel(
                    name="Paragraph",
                ),
                migrations.DeleteModel(
                    name="BodyProposal",
                ),
                migrations.DeleteModel(
                    name="Chapter",
                ),
                migrations.DeleteModel(
                    name="Clause",
                ),
                migrations.DeleteModel(
                    name="Regulation",
                ),
                migrations.DeleteModel(
                    name="StandingResponsibility",
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
