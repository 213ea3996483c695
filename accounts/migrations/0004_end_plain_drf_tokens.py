# DRF's plain tokens (rest_framework.authtoken, keys stored in clear) are no longer accepted:
# hashed ApiTokens are the one token path. Any that are left are ended here, with their table
# and their content types; their owners create a hashed token on the 账户安全 page.

from django.db import migrations


def end_plain_tokens(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS authtoken_token")
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_names_follow_the_text_rule"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(end_plain_tokens, migrations.RunPython.noop)]
