"""Read an OpenID Connect provider's discovery document and print the settings that connect to it.

    manage.py oidc_discover https://idp.example.gov.cn/oidc

Prints OIDC_OP_* lines for the environment (the client id and secret come from the identity
service's administrator) and says what the provider lacks that sign-in here needs (PKCE with
S256, RS256 ID tokens) or that is optional (RP-initiated and back-channel logout)."""

import requests
from django.core.management.base import BaseCommand, CommandError

SETTINGS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_LOGOUT_ENDPOINT": "end_session_endpoint",
}


class Command(BaseCommand):
    help = "读取统一身份认证（OpenID Connect）的发现文档，输出连接所需的环境变量"

    def add_arguments(self, parser):
        parser.add_argument("issuer", help="颁发者地址（issuer），不含 /.well-known/openid-configuration")
        parser.add_argument("--timeout", type=float, default=10)

    def handle(self, issuer, timeout, **options):
        issuer = issuer.rstrip("/")
        url = f"{issuer}/.well-known/openid-configuration"
        try:
            response = requests.get(url, timeout=timeout)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise CommandError(f"无法读取发现文档 {url}：{exc}") from exc
        if document.get("issuer", "").rstrip("/") != issuer:
            raise CommandError(f"发现文档中的 issuer（{document.get('issuer')!r}）与给定地址不一致")
        lines = ["OIDC_ENABLED=1", f"OIDC_OP_ISSUER={document['issuer']}"]
        for setting, key in SETTINGS.items():
            if document.get(key):
                lines.append(f"{setting}={document[key]}")
        lines += ["OIDC_RP_CLIENT_ID=<由统一身份认证管理员分配>", "OIDC_RP_CLIENT_SECRET=<由统一身份认证管理员分配>"]
        self.stdout.write("\n".join(lines))
        warnings = []
        if "S256" not in document.get("code_challenge_methods_supported", []):
            warnings.append("未声明支持 PKCE（S256）：本系统的登录请求带 PKCE，请向对方确认")
        if "RS256" not in document.get("id_token_signing_alg_values_supported", ["RS256"]):
            warnings.append("ID 令牌不以 RS256 签名：请设置 OIDC_RP_SIGN_ALGO 为对方支持的算法")
        if not document.get("end_session_endpoint"):
            warnings.append("没有 end_session_endpoint：退出时只结束本系统的会话")
        if not document.get("backchannel_logout_supported"):
            warnings.append("不支持后端通道退出（back-channel logout）：在统一身份认证退出不会结束本系统的会话")
        for warning in warnings:
            self.stderr.write(f"注意：{warning}")
