"""Every email is a subject / text / html trio under templates/emails/, rendered by `render_email`."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def date_text(day: dt.date | None) -> str:
    # Formatted here, not with the |date filter: the sweep renders tens of thousands of emails.
    return f"{day.year}年{day.month}月{day.day}日" if day else "未设定"


def render_email(name: str, context: dict) -> RenderedEmail:
    context = {"site_url": settings.SITE_URL, **context}
    subject = render_to_string(f"emails/{name}-subject.txt", context)
    # A subject is one line: templates may wrap for readability.
    subject = " ".join(subject.split())
    text = render_to_string(f"emails/{name}-body.txt", context).strip() + "\n"
    html = render_to_string(f"emails/{name}-body.html", context)
    return RenderedEmail(subject=subject, text=text, html=html)


def build_message(
    *, to: str, subject: str, text: str, html: str, headers: dict | None = None
) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to], headers=headers or {})
    if html:
        message.attach_alternative(html, "text/html")
    return message
