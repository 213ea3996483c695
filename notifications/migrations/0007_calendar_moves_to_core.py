# The official holiday calendar now belongs to core (core/migrations/0001_initial.py); the tables
# stay, only the state leaves this app.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0006_names_follow_the_text_rule"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="OfficialCalendarDay"),
                migrations.DeleteModel(name="OfficialCalendar"),
            ],
            database_operations=[],
        ),
    ]
