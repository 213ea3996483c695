"""Template helpers: `{% can user "verify" obligation as allowed %}` asks the one permission check."""

from django import template

from obligations.permissions import can as can_check

register = template.Library()


@register.simple_tag
def can(user, action, obligation) -> bool:
    return can_check(user, action, obligation)


@register.filter
def light_label(value: str) -> str:
    return {"red": "红灯（逾期）", "yellow": "黄灯（临期）", "green": "绿灯"}.get(value, value)


@register.simple_tag
def days_text(obligation, on=None) -> str:
    """剩余 N 天 / 逾期 N 天 / 今日到期 / 未设期限."""
    if obligation.due_date is None:
        return "未设期限"
    if obligation.status in obligation.CLOSED_STATUSES:
        return obligation.get_status_display()
    left = obligation.days_left(on)
    if left < 0:
        return f"逾期 {-left} 天"
    if left == 0:
        return "今日到期"
    return f"剩余 {left} 天"


ACTION_LABELS = {
    "obligation.created": "创建义务",
    "obligation.status": "状态变更",
    "obligation.due_date": "完成期限变更",
    "obligation.reassigned": "调整责任单位",
    "obligation.cooperating": "调整协办单位",
    "obligation.superseded": "义务废止",
    "obligation.restored": "义务恢复",
    "progress.added": "填报进展",
    "evidence.added": "提交佐证材料",
    "milestone.added": "添加节点",
    "milestone.done": "节点完成",
    "milestone.due_date": "节点期限变更",
    "extension.requested": "申请延期",
    "extension.decided": "审批延期",
    "objection.raised": "提出异议",
    "objection.decided": "处理异议",
    "reporting.required": "要求定期报送",
    "report.exported": "导出报告",
}


@register.filter
def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


@register.filter
def status_label(value: str) -> str:
    from obligations.models import Obligation

    return dict(Obligation.Status.choices).get(value, value)
