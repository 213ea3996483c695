"""Where a group robot may be: the allow-list of webhook hosts, checked when an address is saved
and again when a message is sent.

- A robot's host must be listed: WEBHOOK_ALLOWED_HOSTS (the WeCom and DingTalk robot APIs,
  qyapi.weixin.qq.com and oapi.dingtalk.com, by default) or WEBHOOK_INTERNAL_HOSTS (gateways on
  the government network, none by default), both set by the administrator in the environment.
- A host of the first list must be on the public internet: when the worker sends, it resolves the
  name and refuses loopback, link-local (169.254.169.254, the cloud metadata service), private,
  shared, reserved and multicast addresses, and connects to the address it checked (a second,
  different answer from DNS cannot slip in between). Only a host of the second list may be on such
  an address.
- Redirects are not followed: a robot answering 3xx has not taken the message.
Otherwise whoever may edit a robot in the admin could make the worker POST to the machine's own
services or the metadata endpoint.
"""

import http.client
import ipaddress
import socket
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError


class AddressRefused(Exception):
    pass


def _names(setting: str) -> set[str]:
    return {name.strip().lower().rstrip(".") for name in getattr(settings, setting, []) if name.strip()}


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_host(url: str) -> str:
    """The URL's host if it is allowed at all; AddressRefused otherwise."""
    host = _host(url)
    internal = _names("WEBHOOK_INTERNAL_HOSTS")
    if not host or host not in _names("WEBHOOK_ALLOWED_HOSTS") | internal:
        raise AddressRefused(
            f"机器人地址的主机“{host or url}”不在允许列表中（WEBHOOK_ALLOWED_HOSTS / WEBHOOK_INTERNAL_HOSTS），"
            "请联系系统管理员"
        )
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host
    if host not in internal and not _public(str(literal)):
        raise AddressRefused(f"机器人地址“{host}”是本机、内网或保留地址，未列入 WEBHOOK_INTERNAL_HOSTS")
    return host


def validate_webhook_url(url: str) -> None:
    """For the admin's form (WebhookEndpoint.clean): the Chinese reason as a field error."""
    try:
        check_host(url)
    except AddressRefused as refused:
        raise ValidationError({"url": str(refused)}) from None


def checked_connection(host: str):
    """socket.create_connection for `host`: every address it resolves to must be public, unless
    the host is an internal gateway; connects to the addresses it checked."""
    internal = host.lower().rstrip(".") in _names("WEBHOOK_INTERNAL_HOSTS")

    def create_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, **kwargs):
        name, port = address
        try:
            infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise AddressRefused(f"无法解析机器人地址“{name}”：{exc}") from exc
        if not internal:
            for *_, sockaddr in infos:
                if not _public(sockaddr[0]):
                    raise AddressRefused(f"机器人地址“{name}”解析到本机、内网或保留地址 {sockaddr[0]}，已拒绝发送")
        error = None
        for family, kind, proto, _, sockaddr in infos:
            sock = socket.socket(family, kind, proto)
            try:
                if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                    sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect(sockaddr)
                return sock
            except OSError as exc:
                error = exc
                sock.close()
        raise error or OSError(f"no address for {name}")

    return create_connection


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = checked_connection(self.host)


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = checked_connection(self.host)


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_CheckedHTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_CheckedHTTPSConnection, req, context=self._context)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(req.full_url, code, f"redirect to {newurl} not followed", headers, fp)


def opener() -> urllib.request.OpenerDirector:
    """urllib's opener for robots: checked connections, no redirects, no proxy from the
    environment (the proxy's address would be checked instead of the robot's)."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _HTTPHandler(), _HTTPSHandler(), _NoRedirects())
