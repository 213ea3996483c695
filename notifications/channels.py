"""How a message reaches a person: in-app (the Notification row itself), email, webhook.

Each channel sends one message and raises `ChannelError` when it could not; the caller records
the attempt on the Delivery row and schedules a retry. One channel failing never stops another.
"""

import json
import urllib.error
import urllib.request

from django.core.mail import get_connection
from django.core.mail.utils import DNS_NAME

from . import addresses
from .emails import build_message


class ChannelError(Exception):
    pass


class EmailChannel:
    """Sends many messages over one connection; reports success per message."""

    def __init__(self):
        self.connection = get_connection(fail_silently=False)

    def __enter__(self):
        try:
            self.connection.open()
        except Exception as exc:  # the SMTP server is down: every message of the batch fails
            self.open_error = exc
        else:
            self.open_error = None
        return self

    def __exit__(self, *exc_info):
        try:
            self.connection.close()
        except Exception:  # noqa: S110 (closing a broken connection must not mask the real error)
            pass

    def send(self, notification, delivery) -> None:
        if self.open_error is not None:
            raise ChannelError(f"邮件服务器连接失败：{self.open_error}")
        recipient = notification.recipient
        if not recipient.email:
            raise ChannelError("用户未设置邮箱")
        message = build_message(
            to=recipient.email,
            subject=notification.subject,
            text=notification.body,
            html=notification.body_html,
            headers={
                "X-Tracker-Delivery": str(delivery.key),
                # One Message-ID per delivery, not per attempt: a resend after a crash between
                # sending and recording (see notifications/README.md) is the same message to
                # mail servers and clients, which drop or merge repeated Message-IDs.
                "Message-ID": f"<{delivery.key}@{DNS_NAME}>",
            },
        )
        message.connection = self.connection
        try:
            sent = message.send()
        except Exception as exc:
            raise ChannelError(f"邮件发送失败：{exc}") from exc
        if not sent:
            raise ChannelError("邮件发送失败：服务器未接收")


def webhook_payload(notification, delivery) -> dict:
    """政务微信/钉钉 group robot style: a plain-text message, plus our own fields.

    Plain text, not markdown: subject and body carry what people typed (progress notes, milestone
    titles, reasons), and as markdown a typed link, image or heading would be rendered in the group
    as if we had sent it. The robots show a text message exactly as it is.

    `key` is the delivery's idempotency key: a receiver that saw it already can ignore a retry
    (a sender that dies between the POST and recording it will send the same key again)."""
    return {
        "msgtype": "text",
        "text": {"content": f"{notification.subject}\n\n{notification.body}"},
        "key": str(delivery.key),
        "kind": notification.kind,
        "recipient": notification.recipient.get_username(),
        "url": notification.url,
        "obligation_id": notification.obligation_id,
    }


def post_webhook(url: str, payload: dict, *, timeout: float) -> None:
    """POST to a robot whose host is allowed (notifications.addresses), on an address checked
    when connecting, following no redirect."""
    try:
        addresses.check_host(url)
    except addresses.AddressRefused as refused:
        raise ChannelError(f"Webhook 地址不允许：{refused}") from None
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310 (admin-set URL, http(s) only: WebhookEndpoint.url)
        url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with addresses.opener().open(request, timeout=timeout) as response:
            status = response.status
            body = response.read(2000)
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            raise ChannelError(f"Webhook 返回重定向 HTTP {exc.code}，未跟随") from exc
        raise ChannelError(f"Webhook 返回 HTTP {exc.code}") from exc
    except addresses.AddressRefused as refused:
        raise ChannelError(f"Webhook 地址不允许：{refused}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, addresses.AddressRefused):
            raise ChannelError(f"Webhook 地址不允许：{exc.reason}") from None
        raise ChannelError(f"Webhook 无法送达：{exc}") from exc
    except (TimeoutError, OSError) as exc:
        raise ChannelError(f"Webhook 无法送达：{exc}") from exc
    if not 200 <= status < 300:
        raise ChannelError(f"Webhook 返回 HTTP {status}")
    # DingTalk/WeCom robots answer 200 with {"errcode": non-zero} when they refuse a message.
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        return
    if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
        raise ChannelError(f"Webhook 拒收：{answer.get('errmsg') or answer.get('errcode')}")


class WebhookChannel:
    def __init__(self, *, timeout: float):
        self.timeout = timeout

    def send(self, notification, delivery) -> None:
        endpoint = delivery.endpoint
        if endpoint is None or not endpoint.active:
            raise ChannelError("Webhook 地址不存在或已停用")
        post_webhook(endpoint.url, webhook_payload(notification, delivery), timeout=self.timeout)
