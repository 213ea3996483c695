"""How a message reads in the app (站内消息): its text is the email's, whose links are raw addresses."""

import re

from django import template
from django.conf import settings
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

URL = re.compile(r"https?://[^\s<>\"'，。；）)]+")


def site_path(url: str) -> str | None:
    """The path of an address on this site (SITE_URL), else None. Links in the app stay relative,
    so they work whichever host the page was opened on."""
    base = settings.SITE_URL.rstrip("/")
    if url.startswith(base + "/"):
        return url[len(base) :]
    return None


@register.filter
def local_url(url: str) -> str:
    """A message's own link (`Notification.url`) as a path on this site when it is one."""
    return site_path(url or "") or url or ""


@register.filter
def in_app_body(notification) -> SafeString:
    """The message text without raw addresses: the line that only repeats the message's own link
    (shown as 查看 beside it) is left out; other links on this site read as 查看/打开; addresses
    elsewhere stay text (never links: reasons are typed by people)."""
    own = notification.url or ""
    lines = []
    for line in (notification.body or "").splitlines():
        found = URL.findall(line)
        if own and found == [own] and line.rstrip().endswith(own):
            continue  # "查看与办理：<url>" or the bare link: the 查看 link says it
        if line.startswith("—— 法规义务督办系统"):
            continue  # the email's signature ("本邮件由系统自动发送…") is not for the app
        lines.append(_linked(line))
    text = "\n".join(lines).strip("\n")
    return mark_safe(re.sub(r"\n{3,}", "\n\n", text))  # noqa: S308 (each piece escaped in _linked)


def _linked(line: str) -> str:
    out, last = [], 0
    for match in URL.finditer(line):
        out.append(escape(line[last : match.start()]))
        path = site_path(match.group(0))
        if path is None:
            out.append(escape(match.group(0)))
        else:
            label = "查看" if not line[: match.start()].strip() else "打开"
            out.append(format_html('<a href="{}">{}</a>', path, label))
        last = match.end()
    out.append(escape(line[last:]))
    return "".join(out)


TAG = re.compile(r"^【[^】]*】\s*")


@register.filter
def sentence(notification) -> str:
    """The subject as one sentence beside the kind and citation the line already shows: the
    email's 【tag】 and the leading citation left out (第十一条第一款：距期限还有 7 天 → 距期限还有 7 天)."""
    text = TAG.sub("", notification.subject or "")
    if notification.obligation_id is not None:
        citation = notification.obligation.citation
        if citation and text.startswith(citation):
            text = text[len(citation) :].lstrip(" ：:")
    return text or notification.subject
