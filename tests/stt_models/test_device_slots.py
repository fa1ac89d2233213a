"""GPU slots: at most N transcriptions at once per device, across threads and processes."""

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
