"""The delivery side of the transactional outbox: who hears an event, and how.

The services write the events (obligations.outbox, in the transaction of the change); this module
turns each into one notification per person concerned, through the same sending path as the
reminder sweep (notifications.sending: channel choice, group robot, deliveries, retries) and the
same email helper (notifications.emails: the `event` subject / text / html trio).

Who hears what (active users; the person who made the change is never told of it):
- the leads: submitted for verification, objection raised, extension requested;
- the staff of the responsible body (as it was at the event): returned, verified, reopened,
  extension decided, milestone date moved, periodic report required, a cooperating body's
  progress;
- the staff of the responsible and the cooperating bodies: due date set or moved;
- the staff of the old and the new body: reassigned; of the objecting body and, when the objection
  moved the obligation, the new one: objection decided;
- the staff of the responsible body and of the bodies added: cooperating body added.
Each notice shows in the app whatever the preference (a decision must be seen); email and the
group robot as each person chose.

How it travels:
1. After the commit that wrote the row the task `deliver_outbox_message` runs `deliver(id)`.
2. `deliver` claims the row with `filter(id=…, delivered_at=None).update(...)` in the
   transaction that writes the Notification and Delivery rows, so two workers never both deliver
   it and a worker dying half-way delivers nothing (the claim rolls back with it). The deliveries
   start claimed by this worker; one that dies before sending leaves them to `retry_deliveries`
   after the claim lease.
3. The beat task `deliver_outbox` (every minute, and after a bulk change: obligations.outbox) and
   the reminder sweep call `deliver_pending()`, which picks up whatever the queued tasks did not
   deliver (broker down, worker lost, a bulk change).
"""

import datetime as dt
import logging
import uuid

from django.db import transaction
from django.db.models import F

from accounts.models import Department, User
from core import clock
from obligations.models import Obligation, OutboxMessage, ReportingRequirement, obligation_url

from .emails import date_text, render_email
from .models import Delivery, Notification, ReminderSettings
from .sending import Draft, choose_channels, send_deliveries, write_notifications

log = logging.getLogger(__name__)

Event = OutboxMessage.Event
Kind = Notification.Kind
MAX_ATTEMPTS = 10  # a message that failed this often (a bug, not an outage) is left for a person
PENDING_BATCH = 500
NEWEST_BATCH = 5  # what a notice task whose own event is done delivers: a few, its queue must move

KINDS = {
    Event.PROGRESS: Kind.PROGRESS,
    Event.SUBMITTED: Kind.SUBMITTED,
    Event.RETURNED: Kind.RETURNED,
    Event.VERIFIED: Kind.VERIFIED,
    Event.REOPENED: Kind.REOPENED,
    Event.DUE_DATE: Kind.DUE_DATE_CHANGED,
    Event.REASSIGNED: Kind.REASSIGNED,
    Event.COOPERATING: Kind.COOPERATING_ADDED,
    Event.EXTENSION_REQUESTED: Kind.EXTENSION_REQUESTED,
    Event.EXTENSION_DECIDED: Kind.EXTENSION_DECIDED,
    Event.OBJECTION_RAISED: Kind.OBJECTION_RAISED,
    Event.OBJECTION_DECIDED: Kind.OBJECTION_DECIDED,
    Event.MILESTONE_MOVED: Kind.MILESTONE_MOVED,
    Event.REPORTING_REQUIRED: Kind.REPORTING_REQUIRED,
    Event.AMENDED: Kind.AMENDED,
}
FOR_LEADS = {Event.SUBMITTED, Event.OBJECTION_RAISED, Event.EXTENSION_REQUESTED}
USER_FIELDS = ("id", "username", "full_name", "email", "department_id", "role")


# --------------------------------------------------------------------------- who hears


def bodies_concerned(message: OutboxMessage) -> set[int]:
    """The bodies whose staff hear of a (non-lead) event."""
    payload = message.payload
    responsible = payload.get("department_id") or message.obligation.department_id
    if message.event == Event.DUE_DATE:
        return {responsible, *message.obligation.cooperating.values_list("id", flat=True)}
    if message.event == Event.REASSIGNED:
        return {payload["old_department_id"], payload["new_department_id"]}
    if message.event == Event.COOPERATING:
        return {responsible, *payload.get("added_department_ids", [])}
    if message.event == Event.OBJECTION_DECIDED:
        return {payload["objecting_department_id"], payload.get("new_department_id") or responsible}
    return {responsible}


def recipients(message: OutboxMessage) -> dict[int, dict]:
    users = User.objects.filter(is_active=True)
    if message.event in FOR_LEADS:
        users = users.filter(role=User.Role.LEAD)
    else:
        users = users.filter(role=User.Role.STAFF, department_id__in=bodies_concerned(message))
    if message.actor_id:
        users = users.exclude(pk=message.actor_id)
    return {row["id"]: row for row in users.order_by("id").values(*USER_FIELDS)}


# --------------------------------------------------------------------------- what they read


def _day(value: str | None) -> str:
    return date_text(dt.date.fromisoformat(value)) if value else "未设定"


def notice(message: OutboxMessage) -> dict:
    """The event in words: a tag for the subject, a title, a summary, facts, the reason."""
    obligation = message.obligation
    payload = message.payload
    citation = obligation.clause.citation
    who = message.actor.display_name if message.actor else "（已删除用户）"
    ids = {
        payload.get(key)
        for key in (
            "department_id",
            "old_department_id",
            "new_department_id",
            "objecting_department_id",
            "suggested_department_id",
            "cooperating_department_id",
        )
    }
    ids.update(payload.get("added_department_ids", []))
    names = dict(Department.objects.filter(id__in=ids - {None}).values_list("id", "name"))

    def body(key: str = "department_id") -> str:
        return names.get(payload.get(key)) or obligation.department.name

    reason = payload.get("reason", "")
    facts: list[tuple[str, str]] = []
    event = message.event
    if event == Event.PROGRESS:
        cooperating = body("cooperating_department_id")
        tag, title = "协办进展", f"{cooperating}报送了{citation}的工作进展"
        summary = f"协办单位{cooperating}（{who}）报送了工作进展：\n{payload.get('text', '')}"
        if payload.get("percent") is not None:
            facts.append(("完成比例", f"{payload['percent']}%"))
    elif event == Event.SUBMITTED:
        tag, title = "待核验", f"{body()}已提交{citation}，请核验"
        summary = f"{body()}（{who}）已提交该项义务，等待核验。"
    elif event == Event.RETURNED:
        tag, title = "退回", f"{citation}的核验申请被退回，请修改后重新提交"
        summary = f"牵头部门（{who}）退回了该项义务的核验申请，请按退回原因补充后重新提交。"
    elif event == Event.VERIFIED:
        tag, title = "核验通过", f"{citation}已核验通过"
        summary = f"牵头部门（{who}）已核验通过该项义务。"
    elif event == Event.REOPENED:
        tag, title = "重新打开", f"{citation}已重新打开，请继续办理"
        summary = f"牵头部门（{who}）重新打开了已核验的该项义务，请继续办理。"
    elif event == Event.DUE_DATE:
        old, new = _day(payload.get("old_date")), _day(payload.get("new_date"))
        tag = "期限调整"
        title = f"{citation}完成期限{'设定为' + new if not payload.get('old_date') else '由' + old + '调整为' + new}"
        summary = f"牵头部门（{who}）{'设定' if not payload.get('old_date') else '调整'}了该项义务的完成期限。"
        facts.append(("期限调整", f"{old} → {new}"))
    elif event == Event.REASSIGNED:
        old, new = body("old_department_id"), body("new_department_id")
        tag, title = "责任单位调整", f"{citation}的责任单位由{old}调整为{new}"
        summary = f"牵头部门（{who}）调整了该项义务的责任单位。"
        facts.append(("责任单位", f"{old} → {new}"))
    elif event == Event.COOPERATING:
        added = "、".join(names.get(i, str(i)) for i in payload.get("added_department_ids", []))
        tag, title = "新增协办单位", f"{citation}新增协办单位：{added}"
        summary = f"牵头部门（{who}）为该项义务增加了协办单位，请协同办理。"
        facts.append(("新增协办单位", added))
    elif event == Event.EXTENSION_REQUESTED:
        requested = _day(payload.get("requested_date"))
        tag, title = "延期申请", f"{body()}申请将{citation}的期限延至{requested}"
        summary = f"{body()}（{who}）提出延期申请，请审批。"
        facts.append(("申请延至", requested))
    elif event == Event.EXTENSION_DECIDED:
        requested = _day(payload.get("requested_date"))
        if payload.get("approved"):
            tag, title = "延期申请已同意", f"{citation}的期限已延至{requested}"
            summary = f"牵头部门（{who}）同意了延期申请。"
            facts.append(("期限调整", f"{_day(payload.get('old_date'))} → {_day(payload.get('new_date'))}"))
        else:
            tag, title = "延期申请未同意", f"{citation}的延期申请未获同意，期限不变"
            summary = f"牵头部门（{who}）未同意延期申请，请按原期限（{_day(payload.get('old_date'))}）完成。"
        facts.append(("申请理由", payload.get("request_reason", "")))
    elif event == Event.OBJECTION_RAISED:
        tag, title = "分工异议", f"{body()}对{citation}的分工提出异议"
        summary = f"{body()}（{who}）对该项义务的分工提出异议，请处理。"
        if payload.get("suggested_department_id"):
            facts.append(("建议责任单位", body("suggested_department_id")))
    elif event == Event.OBJECTION_DECIDED:
        objecting = body("objecting_department_id")
        if payload.get("new_department_id"):
            new = body("new_department_id")
            tag, title = "异议成立", f"{citation}的责任单位由{objecting}调整为{new}"
            summary = f"牵头部门（{who}）认为{objecting}的分工异议成立，调整了责任单位。"
            facts.append(("责任单位", f"{objecting} → {new}"))
        else:
            tag, title = "异议未采纳", f"{citation}维持原分工"
            summary = f"牵头部门（{who}）处理了{objecting}的分工异议，维持原分工，请继续办理。"
        facts.append(("异议理由", payload.get("objection_reason", "")))
    elif event == Event.MILESTONE_MOVED:
        old, new = _day(payload.get("old_date")), _day(payload.get("new_date"))
        tag, title = "节点日期调整", f"{citation}的工作节点“{payload.get('title', '')}”改至{new}"
        summary = f"{who}调整了该项义务的工作节点日期。"
        facts += [("工作节点", payload.get("title", "")), ("节点日期", f"{old} → {new}")]
    elif event == Event.REPORTING_REQUIRED:
        frequency = dict(ReportingRequirement.Frequency.choices).get(payload.get("frequency"), "")
        tag, title = "定期报送", f"{citation}须{frequency}报送工作进展"
        summary = f"牵头部门（{who}）要求定期报送该项义务的工作进展。"
        facts += [
            ("报送频次", frequency),
            ("起始日期", _day(payload.get("starts_on"))),
            ("报送时限", f"每期结束后 {payload.get('due_day')} 天内"),
        ]
    elif event == Event.AMENDED:
        old, new, version = payload.get("old_citation"), payload.get("new_citation"), payload.get("version", "")
        outcome = payload.get("outcome")
        regulation = obligation.clause.regulation.title
        tag = "法规修订"
        stage, made = payload.get("stage"), payload.get("kind") or "修订"
        when = _day(payload.get("effective"))
        if stage == "pending":  # confirmed before the effective date: a heads-up
            tag = "法规修订预告"
            will = {
                "review": f"改为{new}，条文有修改，届时请复核",
                "repealed": "该条款被删除，本项义务届时废止",
                "released": f"修订后（{new}）不再由本单位承担",
                "merged_away": f"并入{new}",
            }.get(outcome, f"引用改为{new}，条文未变")
            title = f"《{regulation}》将于{when}起按{made}后文本执行：{old}{will}"
            summary = (
                f"牵头部门（{who}）已确认法规{made}（{version}），自{when}起施行。"
                f"在此之前本项义务仍按现行条文办理；施行之日起：{old}{will}。"
            )
        elif stage == "withdrawn":
            tag = "法规修订撤回"
            title = f"《{regulation}》待生效的{made}已撤回，{old}继续按现行条文执行"
            summary = f"牵头部门（{who}）撤回了原定自{when}起施行的法规{made}，本项义务不受影响。"
        elif outcome == "review":
            title = f"《{regulation}》修订：{new}（{old}）文字修改，请复核"
            summary = f"法规修订（{version}）改动了该项义务的条文，请对照新旧条文确认，或在异议期内提出分工异议。"
        elif outcome == "repealed":
            title = f"《{regulation}》修订删除了{old}，该项义务已废止"
            summary = f"法规修订（{version}）删除了该条款，义务已废止，原有记录保留。"
        elif outcome == "assigned":
            title = f"《{regulation}》修订：{new}新增本单位义务"
            summary = f"法规修订（{version}）为本单位新增了该项义务，请确认分工或在异议期内提出异议。"
        elif outcome in ("released", "merged_away"):
            title = f"《{regulation}》修订：{old}不再由本单位承担"
            summary = f"法规修订（{version}）后，该项义务不再由本单位承担，原有记录保留。"
        else:
            title = f"《{regulation}》修订：{old}改为{new}"
            summary = f"法规修订（{version}）后该项义务的条文未变，引用改为{new}，办理情况保留。"
        facts += [("原条款", old or "—"), ("新条款", new or "—"), ("施行日期", _day(payload.get("effective")))]
    else:  # an event this version cannot word: the delivery fails and is counted (see deliver)
        raise ValueError(f"unknown outbox event {event!r}")
    reason_label = {Event.EXTENSION_REQUESTED: "申请理由", Event.OBJECTION_RAISED: "异议理由"}.get(event)
    if event in (Event.EXTENSION_DECIDED, Event.OBJECTION_DECIDED):
        reason_label = "处理意见"
    return {
        "tag": tag,
        "title": title,
        "summary": summary,
        "facts": facts,
        "reason": reason,
        "reason_label": reason_label or "原因",
    }


def obligation_context(obligation: Obligation) -> dict:
    return {
        "id": obligation.pk,
        "citation": obligation.clause.citation,
        "clause": obligation.clause.text,
        "department": obligation.department.name,
        "due_text": date_text(obligation.due_date),
        "status": obligation.get_status_display(),
        "url": obligation_url(obligation.pk, absolute=True),
    }


def compose(message: OutboxMessage) -> list[Draft]:
    users = recipients(message)
    if not users:
        return []
    words = notice(message)
    context = {"notice": words, "obligation": obligation_context(message.obligation)}
    choices = choose_channels(users)
    drafts = []
    for user_id, user in users.items():
        email = render_email("event", {**context, "name": user["full_name"] or user["username"]})
        notification = Notification(
            recipient_id=user_id,
            kind=KINDS[message.event],
            subject=email.subject[:300],
            body=email.text,
            body_html=email.html,
            url=context["obligation"]["url"],
            obligation_id=message.obligation_id,
            department_id=message.payload.get("department_id") or message.obligation.department_id,
            # A decision must be seen: it shows in the app whatever the preference.
            in_app=True,
            payload={"outbox_id": message.pk, "event": message.event, **message.payload},
        )
        drafts.append(Draft(notification, choices[user_id].channels))
    return drafts


# --------------------------------------------------------------------------- delivering


def deliver(message_id: int) -> int:
    """Deliver one outbox message. Returns the number of notifications written (0 when another
    deliverer has it, or it has no recipients)."""
    cfg = ReminderSettings.load()
    token = uuid.uuid4()
    now = clock.now()
    try:
        with transaction.atomic():
            # The claim: a concurrent deliverer blocks on the row until we commit, then finds
            # delivered_at set and updates nothing. If we fail, the claim rolls back with the rest.
            if not OutboxMessage.objects.filter(id=message_id, delivered_at=None).update(delivered_at=now):
                return 0
            message = OutboxMessage.objects.select_related(
                "obligation__clause__article", "obligation__clause__regulation", "obligation__department", "actor"
            ).get(id=message_id)
            notifications = write_notifications(
                compose(message),
                claim_token=token,
                lease_until=now + dt.timedelta(seconds=cfg.claim_lease_seconds),
            )
    except Exception as exc:
        log.exception("outbox message %s could not be delivered", message_id)
        OutboxMessage.objects.filter(id=message_id, delivered_at=None).update(
            attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        return 0
    send_deliveries(Delivery.objects.filter(retry_token=token, status=Delivery.Status.RETRYING), cfg)
    return len(notifications)


def has_pending() -> bool:
    return OutboxMessage.objects.filter(delivered_at=None, attempts__lt=MAX_ATTEMPTS).exists()


def deliver_pending(*, limit: int = PENDING_BATCH, newest_first: bool = False) -> int:
    """Deliver what is still undelivered (the sweep after an outage: oldest first; a notice task
    behind the outbox: the newest few, the decisions people wait for). Returns messages delivered."""
    ids = list(
        OutboxMessage.objects.filter(delivered_at=None, attempts__lt=MAX_ATTEMPTS)
        .order_by("-id" if newest_first else "id")
        .values_list("id", flat=True)[:limit]
    )
    delivered = 0
    for message_id in ids:
        if deliver(message_id):
            delivered += 1
    return delivered
