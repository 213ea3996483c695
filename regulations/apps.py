from django.apps import AppConfig


class RegulationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "regulations"
    verbose_name = "法规"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from .models import Regulation, regulations_changed

        # An import (or a deletion) is seen at once by the process that made it.
        post_save.connect(regulations_changed, sender=Regulation, dispatch_uid="regulations-save")
        post_delete.connect(regulations_changed, sender=Regulation, dispatch_uid="regulations-delete")
