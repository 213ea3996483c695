"""An email backend for the drills: Django's file-based backend, slowed down per message
(DRILL_MAIL_DELAY seconds, default 0.05) so that a test can interrupt a sweep while it sends."""

import os
import time

from django.core.mail.backends.filebased import EmailBackend


class SlowFileBackend(EmailBackend):
    def write_message(self, message):
        time.sleep(float(os.environ.get("DRILL_MAIL_DELAY", "0.05")))
        super().write_message(message)
        self.stream.flush()  # visible to the test at once
