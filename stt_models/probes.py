"""Check that a speech model can work: weights present and device available for local models,
server reachable and key accepted for API models. Run when a model is saved (API and admin)."""

from __future__ import annotations

from django.utils import timezone

from core import model_servers
from core.model_servers import OPENAI_BASE_URL
from core.registry import probe_api
from stt_models.bundled import model_problem
from stt_models.models import API_PROVIDERS, Device, SpeechModel
from stt_models.routing import auto_problems


def _api_problem(model: SpeechModel) -> str:
    try:
        key = model_servers.read_api_key(model.api_key_env, model.base_url)
    except model_servers.ServerRefused as exc:
        return str(exc)
    if model.api_key_env and not key:
        return f"the environment variable {model.api_key_env} is not set here"
    return probe_api(model.base_url or OPENAI_BASE_URL, key, model.api_key_env)[0]


def _local_problem(model: SpeechModel) -> str:
    problem = model_problem(model.model)
    if problem:
        return problem
    if model.device == Device.CUDA:
        import ctranslate2

        if ctranslate2.get_cuda_device_count() == 0:
            return "device is cuda but this machine has no CUDA device (it may still work on GPU workers)"
    return ""


def _auto_problem(model: SpeechModel) -> str:
    return "; ".join(auto_problems(model).values())


def check_model(model: SpeechModel) -> str:
    """Record and return the problem ('' when the model looks usable)."""
    if model.is_auto:
        problem = _auto_problem(model)
    else:
        problem = _api_problem(model) if model.provider in API_PROVIDERS else _local_problem(model)
    SpeechModel.objects.filter(pk=model.pk).update(check_error=problem[:500], checked_at=timezone.now())
    model.check_error, model.checked_at = problem[:500], timezone.now()
    return problem
