"""Loading cuBLAS from the nvidia-cublas-cu12 wheel's folder (the GPU run is in bench/gpu.py;
here a real shared library stands in for cuBLAS, laid out as the wheel lays it out)."""

import ctypes.util
import shutil
import sys
from pathlib import Path

import pytest

from stt_models.providers import cuda_libs


def test_preload_loads_cublas_from_a_wheel_folder_on_sys_path(tmp_path, monkeypatch):
    stand_in = ctypes.util.find_library("z")
    found = next((p for p in (Path("/lib/x86_64-linux-gnu"), Path("/usr/lib/x86_64-linux-gnu"), Path("/usr/lib"))
                  if stand_in and (p / stand_in).exists()), None)  # fmt: skip
    if found is None:
        pytest.skip("no libz shared library to stand in for cuBLAS")
    lib = tmp_path / "site" / "nvidia" / "cublas" / "lib"
    lib.mkdir(parents=True)
    for name in cuda_libs.LIBRARIES:
        shutil.copy(found / stand_in, lib / name)
    monkeypatch.setattr(sys, "path", [str(tmp_path / "empty"), str(tmp_path / "site")])
    monkeypatch.setattr(cuda_libs, "_loaded", [])

    assert cuda_libs.wheel_library_dirs() == [lib]
    assert cuda_libs.preload() == [lib / "libcublasLt.so.12", lib / "libcublas.so.12"]
    assert cuda_libs.preload() == [lib / "libcublasLt.so.12", lib / "libcublas.so.12"]  # once per process


def test_preload_does_nothing_without_the_wheel(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    monkeypatch.setattr(cuda_libs, "_loaded", [])
    assert cuda_libs.wheel_library_dirs() == [] and cuda_libs.preload() == []
