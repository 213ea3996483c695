"""Errors of the services: one family, each with a machine code, a Chinese message and an HTTP
status. The API's exception handler (core.exceptions) and the web views turn them into answers."""


class ServiceError(Exception):
    code = "error"
    status = 400
    default_message = "操作失败"

    def __init__(self, message: str | None = None, *, details: dict | None = None, code: str | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        if code:
            self.code = code
        super().__init__(self.message)


class InvalidInput(ServiceError):
    """Bad input; `details` maps field names to lists of Chinese messages."""

    code = "invalid"
    default_message = "提交的内容有误，请检查后重试"


class NotAllowed(ServiceError):
    code = "permission_denied"
    status = 403
    default_message = "您无权执行此操作"


class InvalidTransition(ServiceError):
    code = "invalid_transition"
    status = 409
    default_message = "当前状态下不能执行该操作"


class StaleVersion(ServiceError):
    code = "stale_version"
    status = 409
    default_message = "该义务已被他人修改，请刷新后重试"


class Conflict(ServiceError):
    code = "conflict"
    status = 409
    default_message = "操作与当前数据冲突"


def invalid(field_name: str, message: str) -> InvalidInput:
    return InvalidInput(message, details={field_name: [message]})
