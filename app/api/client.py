"""``ApiClient``: the async client of one provider, one method per endpoint.

The class is assembled in layers, each its own module: ``base`` sends (auth by origin, the
retry loop, metadata, stream opening), ``media`` adds images, speech, transcription and
downloads, and this module the text endpoints: models, chat, legacy completions,
embeddings and moderation.
"""

from __future__ import annotations

import struct
from base64 import b64decode
from typing import Any

from pydantic import ValidationError

from app import log
from app.api.base import json_body
from app.api.errors import MalformedResponseError, RequestValidationError
from app.api.media import MediaEndpoints
from app.api.profiles import Endpoint
from app.api.streaming import ChatStream, CompletionStream
from app.api.types import (
    ChatRequest,
    ChatResult,
    CompletionResult,
    EmbeddingResult,
    ModelInfo,
    ModelList,
    ModerationResult,
    Usage,
    estimate_tokens,
)

__all__ = ["ApiClient"]

_log = log.get("api")


class ApiClient(MediaEndpoints):
    """The async client of one provider. Create once, ``await aclose()`` at shutdown.

    ``ApiClient(profile, api_key, timeout=, proxy=, max_retries=, transport=, retry_policy=,
    trust_env=)``; the constructor and the plumbing are ``BaseClient``'s.
    """

    # models --------------------------------------------------------------------

    async def list_models(self) -> ModelList:
        """The provider's models, from its own list path; a profile without a list gives its
        ``models`` (no call is made)."""
        if not self.profile.capabilities.model_list:
            return ModelList(
                models=[ModelInfo(id=m, owned_by=self.profile.name) for m in self.profile.models],
                meta=self._meta(None, Endpoint.MODELS, None),
            )
        sent = await self._send("GET", Endpoint.MODELS, self.url(Endpoint.MODELS))
        obj = json_body(sent.response.content, sent.response)
        items: Any = obj
        if isinstance(obj, dict):
            items = obj.get("data", obj.get("models", obj.get("result")))
        if not isinstance(items, list):
            raise MalformedResponseError(
                "the model list has no 'data' array", provider=self.profile.name
            )
        models = []
        for item in items:
            if isinstance(item, str):
                models.append(ModelInfo(id=item))
            elif isinstance(item, dict):
                model_id = item.get("id") or item.get("name") or item.get("model")
                if model_id:
                    try:
                        models.append(ModelInfo.model_validate({**item, "id": str(model_id)}))
                    except ValidationError:  # odd field types: keep the id at least
                        _log.info("model %s: unusual fields kept out", model_id)
                        models.append(ModelInfo(id=str(model_id)))
        return ModelList(models=models, meta=self._meta(sent, Endpoint.MODELS, None))

    async def get_model(self, model_id: str) -> ModelInfo:
        sent = await self._send("GET", Endpoint.MODEL, self.url(Endpoint.MODEL, model=model_id))
        obj = json_body(sent.response.content, sent.response)
        if not isinstance(obj, dict):
            raise MalformedResponseError("the model is not an object", provider=self.profile.name)
        return ModelInfo.model_validate(
            {
                **obj,
                "id": str(obj.get("id") or model_id),
                "meta": self._meta(sent, Endpoint.MODEL, model_id),
            }
        )

    # chat ------------------------------------------------------------------------

    def _chat_request(self, request: ChatRequest | dict[str, Any]) -> ChatRequest:
        req = ChatRequest.build(**request) if isinstance(request, dict) else request
        req.check()
        return req

    async def chat(self, request: ChatRequest | dict[str, Any]) -> ChatResult:
        """One whole chat completion."""
        req = self._chat_request(request)
        payload = req.payload()
        payload.pop("stream", None)
        payload.pop("stream_options", None)
        obj, sent = await self._json(Endpoint.CHAT, payload)
        if not isinstance(obj, dict) or not isinstance(obj.get("choices"), list):
            raise MalformedResponseError(
                "the chat answer has no 'choices'", provider=self.profile.name
            )
        usage = Usage.from_wire(obj.get("usage"))
        choices = obj["choices"]
        if usage is None:
            text = "".join(
                str((c.get("message") or {}).get("content") or "")
                for c in choices
                if isinstance(c, dict)
            )
            usage = Usage.estimate(req.prompt_text(), text)
        meta = self._meta(sent, Endpoint.CHAT, req.model, usage)
        try:
            return ChatResult.model_validate({**obj, "usage": usage, "meta": meta})
        except ValueError as exc:
            raise MalformedResponseError(
                f"the chat answer could not be read: {exc}", provider=self.profile.name
            ) from exc

    def stream_chat(self, request: ChatRequest | dict[str, Any]) -> ChatStream:
        """A streamed chat completion: ``async with client.stream_chat(req) as s: async for d in s``."""
        req = self._chat_request(request)
        payload = req.payload()
        payload["stream"] = True
        if self.profile.stream_usage == "on_request":
            options = dict(payload.get("stream_options") or {})
            options.setdefault("include_usage", True)
            payload["stream_options"] = options
        elif self.profile.stream_usage == "never" and "stream_options" not in req.model_fields_set:
            payload.pop("stream_options", None)
        return ChatStream(self, req, payload)

    # legacy completions -------------------------------------------------------------

    def _completion_payload(
        self, model: str, prompt: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        if not model or not model.strip():
            raise RequestValidationError("Choose a model: the model name is empty.", field="model")
        probe = ChatRequest.build(
            model=model, messages=[{"role": "user", "content": prompt or " "}], **params
        )
        probe.check()
        payload = probe.payload()
        payload.pop("messages")
        payload["prompt"] = prompt
        return payload

    async def complete(self, model: str, prompt: str, **params: Any) -> CompletionResult:
        """Legacy ``/completions`` (whole). ``params``: temperature, max_tokens, stop, ..."""
        payload = self._completion_payload(model, prompt, params)
        payload.pop("stream", None)
        obj, sent = await self._json(Endpoint.COMPLETIONS, payload)
        if not isinstance(obj, dict) or not isinstance(obj.get("choices"), list):
            raise MalformedResponseError(
                "the completion has no 'choices'", provider=self.profile.name
            )
        usage = Usage.from_wire(obj.get("usage")) or Usage.estimate(
            prompt, "".join(str(c.get("text") or "") for c in obj["choices"] if isinstance(c, dict))
        )
        return CompletionResult.model_validate(
            {**obj, "usage": usage, "meta": self._meta(sent, Endpoint.COMPLETIONS, model, usage)}
        )

    def stream_complete(self, model: str, prompt: str, **params: Any) -> CompletionStream:
        payload = self._completion_payload(model, prompt, params)
        payload["stream"] = True
        if self.profile.stream_usage == "on_request":
            payload.setdefault("stream_options", {"include_usage": True})
        return CompletionStream(self, payload, model, prompt)

    # embeddings -------------------------------------------------------------------------

    async def embeddings(
        self, model: str, input: list[str] | str, *, dimensions: int | None = None, **extra: Any
    ) -> EmbeddingResult:
        texts = [input] if isinstance(input, str) else list(input)
        if not model:
            raise RequestValidationError(
                "Choose an embedding model: the model name is empty.", field="model"
            )
        if not texts:
            raise RequestValidationError(
                "Input must hold at least one text to embed.", field="input"
            )
        payload: dict[str, Any] = {"model": model, "input": texts, **extra}
        if dimensions is not None:
            payload["dimensions"] = dimensions
        obj, sent = await self._json(Endpoint.EMBEDDINGS, payload)
        data = obj.get("data") if isinstance(obj, dict) else None
        if not isinstance(data, list):
            raise MalformedResponseError(
                "the embeddings answer has no 'data'", provider=self.profile.name
            )
        for item in data:
            if isinstance(item, dict) and isinstance(item.get("embedding"), str):  # base64 float32
                raw = b64decode(item["embedding"])
                item["embedding"] = list(struct.unpack(f"<{len(raw) // 4}f", raw))
        usage = Usage.from_wire(obj.get("usage")) or Usage(
            prompt_tokens=sum(estimate_tokens(t) for t in texts), estimated=True
        )
        if not usage.total_tokens:
            usage.total_tokens = usage.prompt_tokens
        return EmbeddingResult.model_validate(
            {**obj, "usage": usage, "meta": self._meta(sent, Endpoint.EMBEDDINGS, model, usage)}
        )

    # moderation ----------------------------------------------------------------------------------

    async def moderate(self, input: str | list[str], model: str | None = None) -> ModerationResult:
        if not input:
            raise RequestValidationError(
                "Write some text to check: the input is empty.", field="input"
            )
        payload: dict[str, Any] = {"input": input}
        if model:
            payload["model"] = model
        obj, sent = await self._json(Endpoint.MODERATIONS, payload)
        if not isinstance(obj, dict) or not isinstance(obj.get("results"), list):
            raise MalformedResponseError(
                "the moderation answer has no 'results'", provider=self.profile.name
            )
        return ModerationResult.model_validate(
            {**obj, "meta": self._meta(sent, Endpoint.MODERATIONS, model)}
        )
