"""Password validators.

Django 5.2 changed the message of MinimumLengthValidator ("%(min_length)d" became "%d") and the
zh_Hans catalogue has not caught up, so the length rule was the one rule shown in English.
The interface is Chinese only: say it in Chinese here.
"""

from django.contrib.auth.password_validation import MinimumLengthValidator as DjangoMinimumLengthValidator


class MinimumLengthValidator(DjangoMinimumLengthValidator):
    def get_error_message(self):
        return f"密码太短，至少需要 {self.min_length} 个字符。"

    def get_help_text(self):
        return f"密码至少需要 {self.min_length} 个字符。"
