"""Upload limits, enforced while the request body streams in (the first of FILE_UPLOAD_HANDLERS),
not after it is on disk: a request that declares more than MAX_UPLOAD_REQUEST_SIZE is refused
before its body is read; a file past MAX_UPLOAD_SIZE, or files together past the request limit,
stop the reading at that byte. How many files one request may carry is MAX_UPLOAD_FILES
(Django's DATA_UPLOAD_MAX_NUMBER_FILES). The API answers 413 (or 400 for the count) with the
reason (``knowledge.api.errors``); what was read so far is dropped with the request."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler
from django.template.defaultfilters import filesizeformat

# Room for the multipart framing and the form's other fields beside the files.
FORM_OVERHEAD = 1024 * 1024


class UploadTooLarge(RequestDataTooBig):
    """An upload over a limit; the message is one line for the user."""


def _limit(size: int, setting: str) -> str:
    return f"{filesizeformat(size)} ({size} bytes, {setting})"


class UploadLimits(FileUploadHandler):
    def handle_raw_input(self, input_data: Any, META: dict, content_length: int, boundary: bytes,
                         encoding: str | None = None) -> None:  # fmt: skip
        self.total = 0
        limit = settings.MAX_UPLOAD_REQUEST_SIZE
        if content_length > limit + FORM_OVERHEAD:
            over = _limit(limit, "MAX_UPLOAD_REQUEST_SIZE")
            raise UploadTooLarge(
                f"the request is {filesizeformat(content_length)}, over the limit of {over} per upload"
            )

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.total += len(raw_data)
        if start + len(raw_data) > settings.MAX_UPLOAD_SIZE:
            over = _limit(settings.MAX_UPLOAD_SIZE, "MAX_UPLOAD_SIZE")
            raise UploadTooLarge(f"larger than the upload limit of {over}: {self.file_name}")
        if self.total > settings.MAX_UPLOAD_REQUEST_SIZE:
            over = _limit(settings.MAX_UPLOAD_REQUEST_SIZE, "MAX_UPLOAD_REQUEST_SIZE")
            raise UploadTooLarge(f"the files together are over the limit of {over} per upload")
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler stores the file
