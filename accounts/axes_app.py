"""django-axes (login lockout) under a Chinese name in the admin; otherwise axes' own AppConfig."""

import axes.apps


class AxesConfig(axes.apps.AppConfig):
    verbose_name = "登录锁定"
