"""The language node's worker: the served SpikingEvoTextLM, batched over waiting prompts."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from evospikenet.simulation.model_source import ApiModelSource, ModelFiles, ModelSourceError

log = logging.getLogger("evospikenet.simulation.language")

MODEL_RETRY_SECONDS = 2.0
MODEL_WAIT_SECONDS = 30.0  # how long a start-up waits for a server that is loading its model
SPIKE_SAMPLE_SECONDS = 10.0


class LanguageWorker:
    """Loads the model (the one the API server serves, else the bundled default) and
    generates text."""

    def __init__(
        self,
        api_url: str | None,
        api_key: str | None,
        cache_dir: Path,
        *,
        max_new_tokens: int = 32,
        temperature: float = 0.8,
        top_k: int | None = 40,
        seed: int | None = None,
        max_batch: int = 16,
        model_dir: Path | None = None,
        refresh_seconds: float = 60.0,
    ) -> None:
        self.model_dir = model_dir
        self.refresh_seconds = refresh_seconds
        self.api_url = api_url
        self.api_key = api_key
        self.cache_dir = cache_dir
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_k = top_k
        self.seed = seed
        self.max_batch = max_batch
        self.model: Any = None
        self.model_origin = "not loaded"
        self.model_artifact_ids: tuple[str, str, str] | None = None
        self.load_error: str | None = None
        self._rate: float | None = None
        self._measured_at = -SPIKE_SAMPLE_SECONDS

    def _files(self, stop: threading.Event) -> tuple[ModelFiles | None, str]:
        """``model_dir``'s files, else the model the API server serves (waiting while the API
        is unreachable or still loading its model), else None and the reason."""
        if self.model_dir is not None:
            folder = Path(self.model_dir)
            return ModelFiles(
                folder / "config.json",
                folder / "spiking_lm.pth",
                folder / "spiking_lm_tokenizer.zip",
                f"local folder {folder}",
            ), ""
        if not self.api_url:
            return None, "no --api-url"
        warned: set[str] = set()
        started = time.monotonic()
        with ApiModelSource(self.api_url, self.api_key, self.cache_dir) as source:
            while not stop.is_set():
                try:
                    served = source.served()
                    if served.artifact_ids is not None:
                        return source.files_for(served), ""
                    if served.error is not None:
                        return None, f"the server serves no model: {served.error}"
                    if time.monotonic() - started >= MODEL_WAIT_SECONDS:
                        return None, f"the server loaded no model within {MODEL_WAIT_SECONDS} s"
                    reason = "the server is still loading its model"
                except ModelSourceError as exc:
                    if exc.permanent:
                        raise
                    reason = f"cannot get the model from the API yet ({exc})"
                if reason not in warned:
                    log.warning("%s; retrying", reason)
                    warned.add(reason)
                stop.wait(MODEL_RETRY_SECONDS)
        return None, "stopped"

    def prepare(self, stop: threading.Event) -> None:
        """Load the model; on failure the node stays up and fails text tasks with the reason."""
        from evospikenet.models.serving import (
            ModelLoadError,
            bundled_default_files,
            load_model_from_files,
        )

        try:
            files, reason = self._files(stop)
            if stop.is_set():
                return
            if files is None:
                config, weights, tokenizer = bundled_default_files()
                files = ModelFiles(config, weights, tokenizer, f"bundled default ({reason})")
            self.model = load_model_from_files(files.config, files.weights, files.tokenizer)
            self.model_origin = files.origin
            self.model_artifact_ids = files.artifact_ids
            log.info("language model loaded from %s", self.model_origin)
        except (ModelLoadError, ModelSourceError, OSError) as exc:
            self.load_error = f"the language node has no model: {exc}"
            log.error("%s", self.load_error)
        if self.api_url and self.model_dir is None and self.refresh_seconds > 0:
            threading.Thread(
                target=self._refresh_loop, args=(stop,), name="model-refresh", daemon=True
            ).start()

    def _refresh_loop(self, stop: threading.Event) -> None:
        """Every ``refresh_seconds``, load the model the server serves if it is not the one
        loaded here (a server that serves none leaves the node's model as it is)."""
        from evospikenet.models.serving import ModelLoadError, load_model_from_files

        assert self.api_url is not None
        while not stop.wait(self.refresh_seconds):
            try:
                with ApiModelSource(self.api_url, self.api_key, self.cache_dir) as source:
                    files = source.fetch(unless=self.model_artifact_ids)
                if files is None:
                    continue
                model = load_model_from_files(files.config, files.weights, files.tokenizer)
            except (ModelLoadError, ModelSourceError, OSError) as exc:
                log.warning("could not refresh the language model: %s", exc)
                continue
            self.model, self.model_origin = model, files.origin
            self.model_artifact_ids, self.load_error = files.artifact_ids, None
            self._measured_at = -SPIKE_SAMPLE_SECONDS
            log.info("language model reloaded from %s", self.model_origin)

    def _track(self, model: Any, enabled: bool) -> bool:
        """Turn the model's spike-rate tracking on or off; False if it has none.

        Tracking costs a device sync per layer (about 3x slower generation measured), so it is
        on for one batch every ``SPIKE_SAMPLE_SECONDS`` only.
        """
        if not hasattr(model, "track_spike_rates"):
            return False
        model.track_spike_rates(enabled)
        return True

    @staticmethod
    def _measured_rate(model: Any) -> float | None:
        if not hasattr(model, "spike_rates"):
            return None
        rates = list(model.spike_rates().values())
        return round(sum(rates) / len(rates), 4) if rates else None

    def process(self, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        model, origin = self.model, self.model_origin  # a refresh may swap them meanwhile
        if model is None:
            error = self.load_error or "the language model is not loaded"
            return [{"error": error} for _ in tasks]
        outcomes: list[dict[str, Any] | None] = [None] * len(tasks)
        prompts: list[str] = []
        positions: list[int] = []
        for index, task in enumerate(tasks):
            text = task.get("text")
            if not isinstance(text, str) or not text:
                outcomes[index] = {"error": "the task carries no text"}
                continue
            prompts.append(text)
            positions.append(index)
        if prompts:
            measure = time.monotonic() - self._measured_at >= SPIKE_SAMPLE_SECONDS
            if measure:
                measure = self._track(model, True)
            try:
                generated = model.generate(
                    prompts,
                    max_new_tokens=self.max_new_tokens,
                    temperature=self.temperature,
                    top_k=self.top_k,
                    seed=self.seed,
                )
            finally:
                if measure:
                    self._track(model, False)
            if measure:
                self._rate = self._measured_rate(model)
                self._measured_at = time.monotonic()
            rate = self._rate
            for index, output in zip(positions, generated, strict=True):
                outcomes[index] = {
                    "summary": (
                        f"{output.prompt_tokens} prompt tokens -> {output.generated_tokens} "
                        f"generated; spike rate {rate if rate is not None else 'n/a'}; "
                        f"model: {origin}"
                    ),
                    "details": {
                        "text": output.text,
                        "prompt_tokens": output.prompt_tokens,
                        "generated_tokens": output.generated_tokens,
                        "prompt_truncated": output.prompt_truncated,
                        "batch": len(prompts),
                    },
                    "spike_rate": rate,
                }
        return [o if o is not None else {"error": "internal: no outcome"} for o in outcomes]

    def status(self) -> dict[str, Any]:
        return {"model": self.model_origin, "model_error": self.load_error}
