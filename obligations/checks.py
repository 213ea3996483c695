"""System checks of the obligations app (run by `manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def audit_checkpoint_key(app_configs, **kwargs):
    if getattr(settings, "AUDIT_CHECKPOINT_KEY", ""):
        return []
    return [
        Warning(
            "AUDIT_CHECKPOINT_KEY is not set: no signed checkpoints of the audit chain are written, so "
            "a cut tail or a recomputed chain goes unnoticed.",
            hint="Set it to 32+ random characters kept outside the database (docs/deployment.md).",
            id="obligations.W001",
        )
    ]
