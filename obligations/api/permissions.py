"""Writes on an obligation are judged against the user before their input (obligations.permissions)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from obligations.permissions import may_attempt


class MayAttemptWrite(BasePermission):
    """Checked by `get_object()`, which every action calls before it reads the body: a user who may
    take none of the write's actions gets 403 whatever they sent. The view maps each of its
    writing actions to a write in `writes`; an unmapped one is refused, so none is forgotten."""

    message = "您无权执行此操作"

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        write = view.writes.get(view.action)
        return write is not None and may_attempt(request.user, write, obj)
