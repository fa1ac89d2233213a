"""A stored file as a local path (the pipeline, the audio renditions)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from django.db.models.fields.files import FieldFile


@contextmanager
def local_media(file: FieldFile) -> Iterator[str]:
    """A local path for the stored file, copying it from remote storage when needed."""
    try:
        yield file.path
        return
    except NotImplementedError:
        pass
    suffix = os.path.splitext(file.name)[1]
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp, file.open("rb") as src:
        shutil.copyfileobj(src, tmp)
        tmp.flush()
        yield tmp.name
