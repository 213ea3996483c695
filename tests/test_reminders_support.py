"""Helpers for the reminder tests (no tests here): a sweep at a given local time, the ledger, a
broken mail server and a webhook server. Obligations come from tests/factories.py."""

import datetime as dt
import zoneinfo

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(day: dt.date | str, hour: int = 9) -> dt.datetime:
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


def sweep_on(day, hour: int = 9):
    from notifications.reminders import sweep

    return sweep(now=at(day, hour))


def ledger(**filters):
    from notifications.models import Reminder

    return list(
        Reminder.objects.filter(**filters).order_by("id").values_list("target_type", "stage", "recipient__username")
    )


class BrokenBackend:
    """An email backend whose server is down."""

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        raise ConnectionRefusedError("connection refused")

    def close(self):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("connection refused")


class WebhookServer:
    """A tiny HTTP server on 127.0.0.1 for webhook tests.

    `script` is a list of (status, delay_seconds, body) answers used in turn (the last one
    repeats). A delay of None hangs until `release()` (a request in flight when its sender dies)."""

    def __init__(self, script=None):
        import http.server
        import json
        import threading

        self.requests: list[dict] = []
        self.script = list(script or [(200, 0, b'{"errcode": 0}')])
        self.received = threading.Event()
        self._release = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length).decode("utf-8"))
                index = len(server.requests)
                server.requests.append(payload)
                server.received.set()
                status, delay, body = server.script[min(index, len(server.script) - 1)]
                if delay is None:
                    server._release.wait(60)
                elif delay:
                    server._release.wait(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/robot/send"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def release(self):
        self._release.set()

    def __exit__(self, *exc_info):
        self.release()
        self.httpd.shutdown()
        self.httpd.server_close()
