"""Password validators.

Django 5.2 changed the message of MinimumLengthValidator ("%(min_length)d" became "%d") and the
zh_Hans catalogue has not caught up, so the length rule was the one rule shown in English.
The interface is Chinese only: say it in Chinese here.

WhitespaceValidator: blank-only and whitespace-padded passwords are refused.
"""

from django.contrib.auth.password_validation import MinimumLengthValidator as DjangoMinimumLengthValidator
from django.core.exceptions import ValidationError

from core.validators import ZERO_WIDTH


class MinimumLengthValidator(DjangoMinimumLengthValidator):
    def get_error_message(self):
        return f"密码太短，至少需要 {self.min_length} 个字符。"

    def get_help_text(self):
        return f"密码至少需要 {self.min_length} 个字符。"


def _blank(ch: str) -> bool:
    return ch.isspace() or ch in ZERO_WIDTH


class WhitespaceValidator:
    """A password of spaces only (or of other whitespace and zero-width characters) is no
    password; one that begins or ends with them was most likely copied with a stray space, and
    the login form would have to match that space exactly ever after."""

    def validate(self, password, user=None):
        if password and all(_blank(ch) for ch in password):
            raise ValidationError("密码不能只由空格或不可见字符组成。", code="password_blank")
        if password and (_blank(password[0]) or _blank(password[-1])):
            raise ValidationError("密码首尾不能有空格或不可见字符，请删除后重试。", code="password_padded")

    def get_help_text(self):
        return "密码不能只由空格组成，首尾也不能有空格。"
