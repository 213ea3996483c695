"""Uploaded files keep the name their sender gave them, so that a bad name can be refused.

Django's multipart parser repairs file names on its own: it drops every character that is not
printable (a right-to-left override, an escape, a zero-width space) and UploadedFile cuts a name
to 255 characters. The house rule is "refused, never repaired": each uploaded file here carries
`client_name`, the name as sent (only a path in front of it taken away, as browsers never send
one), and the service that stores a file judges that name.

`ClientNameUploadHandler` comes first in FILE_UPLOAD_HANDLERS and takes the parsing of multipart
bodies over through Django's documented hook (FileUploadHandler.handle_raw_input), so the web forms
and the API (DRF hands Django's parser the same handlers) both get it. The parsing itself is
Django's, with the other handlers unchanged.
"""

import html

from django.core.files.uploadhandler import FileUploadHandler
from django.http.multipartparser import MultiPartParser
from django.utils.encoding import force_str

PLACEHOLDER = "upload"  # a name Django would throw away whole (only hidden characters): kept to be refused


def client_name(file_name: str) -> str:
    name = html.unescape(file_name)
    return name.rsplit("/")[-1].rsplit("\\")[-1]


class ClientNameParser(MultiPartParser):
    _client_name = ""

    def sanitize_file_name(self, file_name):
        self._client_name = client_name(file_name)
        sanitized = super().sanitize_file_name(file_name)
        if sanitized is None and self._client_name.strip() not in {"", ".", ".."}:
            return PLACEHOLDER
        return sanitized

    def handle_file_complete(self, old_field_name, counters):
        super().handle_file_complete(old_field_name, counters)
        files = self._files.getlist(force_str(old_field_name, self._encoding, errors="replace"))
        if files:
            files[-1].client_name = self._client_name


def close_uploads(parser: MultiPartParser, handlers) -> None:
    """Close (so delete, when spooled to a temporary file) every file a failed parse had begun:
    the ones it completed and the one a handler was still writing. Left alone they stay open, and
    on disk, for as long as the failed request is referenced (a 16 MB upload cut by a connection
    reset was kept until the web worker restarted)."""
    done = getattr(parser, "_files", None)
    uploads = [upload for _, files in done.lists() for upload in files] if done is not None else []
    uploads += [handler.file for handler in handlers if getattr(handler, "file", None) is not None]
    for upload in uploads:
        try:
            upload.close()
        except OSError:
            pass


class ClientNameUploadHandler(FileUploadHandler):
    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):  # noqa: N803 (Django's name)
        others = [handler for handler in self.request.upload_handlers if handler is not self]
        parser = ClientNameParser(META, input_data, others, encoding)
        try:
            return parser.parse()
        except BaseException:  # the body could not be read whole (a reset, a timeout), or refused
            close_uploads(parser, others)
            raise

    def receive_data_chunk(self, raw_data, start):
        return raw_data

    def file_complete(self, file_size):
        return None
