from django.utils.functional import SimpleLazyObject

from .selectors import attention_count


def notifications(request):
    """The nav badge: what needs the signed-in user (unread decisions, notices awaiting 已知悉;
    `selectors.attention_count`), counted only when a template shows it: a page fragment (htmx)
    has no nav."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications_count": SimpleLazyObject(lambda: attention_count(user))}
