"""Template helpers: `{% can user "verify" obligation as allowed %}` asks the one permission check."""

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from obligations.audit import action_label as audit_action_label
from obligations.figures import format_rate
from obligations.figures import repealed_note as figures_repealed_note
from obligations.models import ExtensionRequest, Light, Objection, Obligation
from obligations.permissions import can as can_check
from regulations.lineage import diff

register = template.Library()


@register.simple_tag
def can(user, action, obligation) -> bool:
    return can_check(user, action, obligation)


@register.filter
def light_label(value: str) -> str:
    return Light(value).label if value in Light.values else value


@register.simple_tag
def days_text(obligation, on=None) -> str:
    """剩余 N 天 / 逾期 N 天 / 今日到期 / 未设期限."""
    if obligation.due_date is None:
        return "未设期限"
    if obligation.status in obligation.OFF_DESK_STATUSES:
        return obligation.get_status_display()
    left = obligation.days_left(on)
    if left < 0:
        return f"逾期 {-left} 天"
    if left == 0:
        return "今日到期"
    return f"剩余 {left} 天"


@register.filter
def action_label(action: str) -> str:
    """The audit trail's words for an action name (obligations.audit.AuditAction)."""
    return audit_action_label(action)


@register.filter
def status_label(value: str) -> str:
    return dict(Obligation.Status.choices).get(value, value)


# Whose status an audit entry's before/after names: the request's or the objection's for their
# decisions, the obligation's otherwise ("pending → approved" reads 待审批 → 已同意).
STATUS_CHOICES_BY_ACTION_PREFIX = {"extension.": ExtensionRequest.Status, "objection.": Objection.Status}


@register.filter
def history_change(entry) -> str:
    """An audit entry's change of status in words (待审批 → 已同意), or "" when it has none."""
    before, after = entry.before or {}, entry.after or {}
    if not after.get("status"):
        return ""
    choices = next(
        (c for prefix, c in STATUS_CHOICES_BY_ACTION_PREFIX.items() if str(entry.action).startswith(prefix)),
        Obligation.Status,
    )
    labels = dict(choices.choices)
    old, new = before.get("status"), after["status"]
    if old is None:
        return labels.get(new, "")
    return f"{labels.get(old, '')} → {labels.get(new, '')}" if old in labels and new in labels else ""


@register.filter
def rate_text(value: float | None) -> str:
    """A rate as every page and report prints it (obligations.figures.format_rate): 2.2% or —."""
    return format_rate(value)


@register.filter
def repealed_note(value: int | None) -> str:
    """ "另有已废止 N 项" beside a total, or nothing (obligations.figures.TOTAL_RULE)."""
    return figures_repealed_note(value or 0)


@register.simple_tag
def word_diff(old: str, new: str) -> SafeString:
    """The new words with what an amendment deleted (<del>) and added (<ins>) marked."""
    parts = []
    for op, text in diff(old or "", new or ""):
        if op == "equal":
            parts.append(escape(text))
        else:
            tag = "del" if op == "delete" else "ins"
            parts.append(f"<{tag}>{escape(text)}</{tag}>")
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above
