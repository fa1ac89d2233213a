"""Make CTranslate2 find cuBLAS when it comes from a pip wheel.

CTranslate2 4.8 opens ``libcublas.so.12`` with ``dlopen`` the first time it runs on a GPU. The
``nvidia-cublas-cu12`` wheel (requirements/gpu.txt) puts that library under
``site-packages/nvidia/cublas/lib``, which the dynamic loader does not search, so without help a
worker fails with "Library libcublas.so.12 is not found". Loading it once by full path (global
symbols) makes the later ``dlopen`` by name find the library already in the process. When no
wheel is installed nothing is done and the system's CUDA (``LD_LIBRARY_PATH``, ldconfig) is used.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)

LIBRARIES = ("libcublasLt.so.12", "libcublas.so.12")  # Lt first: libcublas needs it
_loaded: list[Path] = []


def wheel_library_dirs() -> list[Path]:
    """Folders of pip-installed NVIDIA libraries that hold cuBLAS 12, in sys.path order."""
    return [
        Path(entry) / "nvidia" / "cublas" / "lib"
        for entry in sys.path
        if entry and (Path(entry) / "nvidia" / "cublas" / "lib" / LIBRARIES[1]).is_file()
    ]


def preload() -> list[Path]:
    """Load cuBLAS 12 from the first wheel that has it (once per process); return what was loaded."""
    if _loaded:
        return list(_loaded)
    for folder in wheel_library_dirs()[:1]:
        for name in LIBRARIES:
            path = folder / name
            if path.is_file():
                ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
                _loaded.append(path)
        log.info("loaded cuBLAS from %s", folder)
    return list(_loaded)
