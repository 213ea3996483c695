from django.utils.functional import SimpleLazyObject

from .selectors import unread_count


def notifications(request):
    """The nav badge: unread in-app messages of the signed-in user (one COUNT on an indexed column),
    counted only when a template shows it: a page fragment (htmx) has no nav."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications_count": SimpleLazyObject(lambda: unread_count(user))}
