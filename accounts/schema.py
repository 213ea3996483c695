"""OpenAPI description of the hashed token authentication (loaded by AccountsConfig.ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class HashedTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.HashedTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "API 令牌：请求头 `Authorization: Token jt_...`。令牌通过 POST /api/auth/tokens/new/ 创建，仅显示一次。"
            ),
        }
