"""Group robot addresses: only listed hosts, never the machine itself, the internal network or the
metadata service unless listed as an internal gateway; checked when saved (the admin) and when
sent (the name resolved, the address checked, no redirect followed)."""

import http.server
import threading

import pytest
from django.core.exceptions import ValidationError

from notifications.channels import ChannelError, post_webhook
from notifications.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

REFUSED_BY_DEFAULT = [
    "http://127.0.0.1:8000/hook",
    "http://localhost/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://10.0.0.5/hook",
    "http://192.168.1.1/hook",
    "http://0.0.0.0/hook",
    "https://robot.example.com/hook",
    "https://qyapi.weixin.qq.com.evil.example/hook",
]
ALLOWED_BY_DEFAULT = [
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",
    "https://oapi.dingtalk.com/robot/send?access_token=abc",
    "https://QYAPI.weixin.qq.com./cgi-bin/webhook/send?key=abc",
]


@pytest.fixture
def defaults(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["qyapi.weixin.qq.com", "oapi.dingtalk.com"]
    settings.WEBHOOK_INTERNAL_HOSTS = []
    return settings


def endpoint(url) -> WebhookEndpoint:
    return WebhookEndpoint(name="工作群", url=url)


@pytest.mark.parametrize("url", REFUSED_BY_DEFAULT)
def test_unlisted_and_internal_addresses_are_refused_when_saved(defaults, url):
    with pytest.raises(ValidationError) as info:
        endpoint(url).full_clean()
    assert "url" in info.value.message_dict


@pytest.mark.parametrize("url", ALLOWED_BY_DEFAULT)
def test_the_wecom_and_dingtalk_robot_apis_are_allowed_by_default(defaults, url):
    endpoint(url).full_clean()


def test_an_internal_gateway_listed_by_the_administrator_is_allowed(defaults):
    defaults.WEBHOOK_INTERNAL_HOSTS = ["10.1.2.3", "robot-gw.gov.internal"]
    endpoint("http://10.1.2.3/hook").full_clean()
    endpoint("http://robot-gw.gov.internal:8080/hook").full_clean()
    with pytest.raises(ValidationError):
        endpoint("http://10.1.2.4/hook").full_clean()


def test_the_admin_form_shows_the_refusal_and_saves_nothing(defaults, client, cast):
    from accounts.models import User

    root = User.objects.create_superuser(username="root", password="pw-Secret-123", email="root@example.gov.cn")
    client.force_login(root)
    response = client.post(
        "/admin/notifications/webhookendpoint/add/",
        {"name": "工作群", "url": "http://169.254.169.254/latest/meta-data/", "active": "on"},
    )
    assert response.status_code == 200
    assert "不在允许列表中" in response.content.decode() or "保留地址" in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0


class Robot:
    """A local HTTP server; `redirect_to` makes it answer 302 to that URL."""

    def __init__(self, redirect_to=None):
        self.posts = 0
        robot = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                robot.posts += 1
                if redirect_to:
                    self.send_response(302)
                    self.send_header("Location", redirect_to)
                else:
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"errcode": 0}')

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, host="127.0.0.1") -> str:
        return f"http://{host}:{self.port}/hook"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_an_address_saved_before_the_rules_is_refused_when_sending(defaults):
    with Robot() as robot:
        with pytest.raises(ChannelError, match="不允许"):
            post_webhook(robot.url(), {"msgtype": "text"}, timeout=2)
        assert robot.posts == 0
        # The same robot listed as an internal gateway is reached.
        defaults.WEBHOOK_INTERNAL_HOSTS = ["127.0.0.1"]
        post_webhook(robot.url(), {"msgtype": "text"}, timeout=2)
        assert robot.posts == 1


def test_a_listed_public_host_that_resolves_to_the_machine_itself_is_refused_when_sending(defaults):
    # As if DNS answered 127.0.0.1 for a robot host (a rebinding, or a hosts file entry).
    defaults.WEBHOOK_ALLOWED_HOSTS = ["localhost"]
    with Robot() as robot:
        with pytest.raises(ChannelError, match="解析到本机、内网或保留地址"):
            post_webhook(robot.url("localhost"), {"msgtype": "text"}, timeout=2)
        assert robot.posts == 0


def test_redirects_are_not_followed(defaults):
    defaults.WEBHOOK_INTERNAL_HOSTS = ["127.0.0.1"]
    with Robot() as target, Robot(redirect_to=target.url()) as robot:
        with pytest.raises(ChannelError, match="重定向"):
            post_webhook(robot.url(), {"msgtype": "text"}, timeout=2)
        assert (robot.posts, target.posts) == (1, 0)
