"""GPU slots: at most N transcriptions at once per device, across threads and processes."""

import os
import subprocess
import sys
import threading
import time

from stt_models.providers.device_slots import device_slot


def test_one_transcription_per_gpu_waits_for_the_slot_while_another_gpu_is_free(tmp_path):
    events: list[str] = []
    first_in = threading.Event()

    def hold(name: str, index: int, seconds: float) -> None:
        with device_slot("cuda", index, 1, tmp_path) as slot:
            events.append(f"{name} in {slot}")
            first_in.set()
            time.sleep(seconds)
        events.append(f"{name} out")

    first = threading.Thread(target=hold, args=("a", 0, 0.6))
    first.start()
    first_in.wait(5)
    started = time.monotonic()
    other_gpu = threading.Thread(target=hold, args=("c", 1, 0.0))
    other_gpu.start()
    other_gpu.join(5)
    free_at_once = time.monotonic() - started
    hold("b", 0, 0.0)  # the same GPU: waits for a's slot
    first.join(5)

    assert free_at_once < 0.3
    assert events.index("a out") < events.index("b in cuda0-slot0")
    assert "c in cuda1-slot0" in events


def test_cpu_needs_no_slot_and_two_slots_allow_two(tmp_path):
    with device_slot("cpu", 0, 1, tmp_path) as a, device_slot("cpu", 0, 1, tmp_path) as b:
        assert (a, b) == ("cpu", "cpu")
    with device_slot("cuda", 0, 2, tmp_path) as a, device_slot("cuda", 0, 2, tmp_path) as b:
        assert {a, b} == {"cuda0-slot0", "cuda0-slot1"}


HOLD = """
import sys, time
from pathlib import Path
from stt_models.providers.device_slots import device_slot
started = time.monotonic()
with device_slot("cuda", int(sys.argv[2]), 1, Path(sys.argv[1])) as slot:
    print(slot, round(time.monotonic() - started, 2), flush=True)
    time.sleep(float(sys.argv[3]))
"""


def test_workers_pinned_to_different_gpus_do_not_share_a_slot(tmp_path):
    """Each pinned worker sees its GPU as index 0 (manage.py worker --gpu N)."""

    def worker(visible: str, index: int, hold: float) -> subprocess.Popen:
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": visible}
        return subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path), str(index), str(hold)], env=env,
                                stdout=subprocess.PIPE, text=True)  # fmt: skip

    first = worker("3", 0, 1.5)
    assert first.stdout.readline().split()[0] == "cuda3-slot0"
    other_gpu, same_gpu = worker("5", 0, 0), worker("2,3", 1, 0)  # the second names GPU 3 again
    other_slot, other_wait = other_gpu.stdout.readline().split()
    same_slot, same_wait = same_gpu.stdout.readline().split()
    for process in (first, other_gpu, same_gpu):
        process.wait(30)

    assert other_slot == "cuda5-slot0" and float(other_wait) < 0.5  # another GPU: at once
    assert same_slot == "cuda3-slot0" and float(same_wait) > 0.8  # the same GPU: after the first
