"""A changed password or a deactivated account ends the user's sessions and API tokens.

A password changes on paths the app does not own: the admin's password form and user form,
`manage.py changepassword`, `set_password()` in a shell or a script. The one place all of them
pass is the save of the user row, so this is a model signal rather than a call in each view:
pre_save notes whether the stored password hash changed or the account went from active to
inactive, post_save (in the same transaction) calls the one service that ends access.

The current browser of a user who changes their own password stays logged in: the view calls
Django's update_session_auth_hash afterwards, which saves that session anew.
"""

from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from .models import User
from .services import user_logout_everywhere

WATCHED = frozenset({"password", "is_active"})


@receiver(pre_save, sender=User, dispatch_uid="accounts.note_credential_change")
def note_credential_change(sender, instance: User, raw=False, update_fields=None, **kwargs):
    instance._ends_access = False
    if raw or instance.pk is None or (update_fields is not None and not WATCHED & set(update_fields)):
        return  # a fixture load, a new user, or a save that touches neither (last_login on every login)
    before = User.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if before is not None:
        instance._ends_access = before["password"] != instance.password or (
            before["is_active"] and not instance.is_active
        )


@receiver(post_save, sender=User, dispatch_uid="accounts.end_access_on_credential_change")
def end_access_on_credential_change(sender, instance: User, raw=False, **kwargs):
    if getattr(instance, "_ends_access", False):
        instance._ends_access = False
        user_logout_everywhere(user=instance)
