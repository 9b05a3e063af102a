"""A local OpenAI-compatible server for tests, benchmarks and manual runs.

Runs in a background thread (stdlib ``ThreadingHTTPServer``, HTTP/1.1 keep-alive, chunked
streams) and serves every path variant at once: ``/v1/...``, ``/api/v1/...``, bare
``/...``, ``/api/v1/chat/models`` and ``/v1/models/{id}``. Endpoints: models, chat
completions (whole and streamed), legacy completions, embeddings (deterministic vectors,
float or base64), images (real PNGs, ``b64_json`` or a ``url`` served by this server under
``/files/``), speech (real audio: mp3, wav, flac, opus, pcm), transcriptions (multipart; the
upload is decoded with soundfile and the answer reports its duration, sample rate and
dominant frequency, in json, text, srt, vtt or verbose_json) and moderations.

Use::

    with OpenAIServer(api_key="sk-test") as server:
        client = ApiClient(profile_for(server.base_url), "sk-test")

or standalone: ``python -m tests.helpers.openai_server --port 8765 [--api-key KEY]``.

With ``api_key`` set, a missing or wrong key gives 401. Every response carries Stansa-style
``X-RateLimit-*`` headers and an ``x-request-id``. A non-streaming POST with an
``Idempotency-Key`` is cached: the same key with the same body replays the first answer
(``Idempotent-Replayed: true``), the same key with another body gives 409.

Behaviour is chosen by the MODEL NAME, so any panel of the app can trigger it, in-process
or across processes. Grammar::

    model    = name [ "?" option *( "&" option ) ]
    option   = key "=" value

    name          any ordinary name answers normally: a deterministic markdown answer (with
                  a code block) quoting the last user message; usage included.
                  ``flux`` (or any name in IMAGE_CHAT_MODELS, or option image=1) answers in
                  chat with a markdown image whose URL this server serves (Spafe's flux).
                  Names starting with ``missing`` give 404 model_not_found.
    tokens=N      answer with exactly N content tokens (streamed one per chunk).
    rate=R        stream at R tokens per second (default: as fast as possible).
    flavor=F      openai (default) | spafe: ``usage: null``, the whole content in the first
                  chunk, then an empty chunk with finish_reason | seed004: a usage chunk with
                  empty choices on every stream | stansa: as openai (rate-limit headers and
                  idempotency are always on) | llamacpp: errors as ``{"detail": ...}`` |
                  seed002: image sizes must be spelled ``W*H``.
    errors=E      error body shape: openai | detail | text | html.
    tools=K       answer with K tool calls (to the request's first tool, else get_weather);
                  streamed as argument fragments; finish_reason ``tool_calls``.
    fault=F       400 (names the field) | 401 | 402 | 404 | 409 | 429 (Retry-After) | 500 |
                  502 (an HTML proxy page) | 503 | 504 (after ``delay``, default 0.3 s) |
                  drop (stream cut without [DONE] after ``drop_after`` chunks, default half) |
                  malformed (a broken JSON line mid-stream) | slow (drip at ``rate``, default
                  20/s) | comments (SSE comments, blank data lines, CRLF line ends).
    times=K       the fault hits only the first K requests with this exact model string
                  (so a retry then succeeds); reset() forgets the counts.
    retry_after=S Retry-After seconds for 429 (default 1).
    delay=S       wait S seconds before answering.
    dims=N        embedding size when the request sets no ``dimensions`` (default 16).
    image=1       answer in chat with a markdown image (as ``flux`` does).
    math=N        answer with N distinct formulas (inline and display), as models write them.

``n`` > 1 in a chat request gives n choices (``[i] `` prefixes each answer but the first).
Stream usage follows OpenAI: a final chunk with empty choices when
``stream_options.include_usage`` is true (always for flavor seed004, never for spafe).
"""

from __future__ import annotations

import argparse
import base64
import email.parser
import email.policy
import hashlib
import io
import re
import socket
import struct
import sys
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson

IMAGE_CHAT_MODELS = {"flux", "flux-test", "dall-e-chat"}
MODEL_IDS = [
    "gpt-test",
    "gpt-test-mini",
    "flux",
    "text-embedding-test",
    "dall-e-test",
    "tts-test",
    "whisper-test",
    "omni-moderation-test",
]
VOICE_HZ = {
    "alloy": 440.0,
    "echo": 330.0,
    "fable": 550.0,
    "onyx": 220.0,
    "nova": 660.0,
    "shimmer": 880.0,
}
AUDIO_TYPES = {
    "mp3": ("MP3", "MPEG_LAYER_III", "audio/mpeg"),
    "wav": ("WAV", "PCM_16", "audio/wav"),
    "flac": ("FLAC", "PCM_16", "audio/flac"),
    "opus": ("OGG", "OPUS", "audio/ogg"),
}
_TOKEN_RE = re.compile(r"\s*\S+\s*|\s+")
_DONE = b"data: [DONE]\n\n"


# --------------------------------------------------------------------------- records


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str | None, str, bytes]] = field(default_factory=dict)

    @property
    def model(self) -> str | None:
        if isinstance(self.json, dict):
            return self.json.get("model")
        return self.form.get("model")


@dataclass
class Behaviour:
    """What a model name asks for (see the module docstring)."""

    name: str
    options: dict[str, str]

    @classmethod
    def parse(cls, model: str | None) -> Behaviour:
        model = model or ""
        name, _, query = model.partition("?")
        return cls(name, dict(parse_qsl(query, keep_blank_values=True)))

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.options.get(key, default)

    def number(self, key: str, default: float) -> float:
        try:
            return float(self.options[key])
        except (KeyError, ValueError):
            return default

    @property
    def flavor(self) -> str:
        return self.options.get("flavor", "openai")

    @property
    def fault(self) -> str | None:
        return self.options.get("fault")

    @property
    def error_shape(self) -> str:
        default = "detail" if self.flavor == "llamacpp" else "openai"
        return self.options.get("errors", default)


# --------------------------------------------------------------------------- content


def answer_text(model: str, messages: Any) -> str:
    """The deterministic markdown answer for a chat request."""
    formulas = Behaviour.parse(model).options.get("math")
    if formulas is not None:
        from tests.helpers.math_corpus import math_answer

        return math_answer(int(formulas))
    last = last_user_text(messages)
    quoted = last.strip().replace("\n", " ")[:200] or "(nothing)"
    return (
        f"### Answer from {Behaviour.parse(model).name or 'the test server'}\n\n"
        f'You said: "{quoted}".\n\n'
        "Here is a small example:\n\n"
        "```python\n"
        "def echo(text: str) -> str:\n"
        "    return text\n"
        "```\n\n"
        "That is all."
    )


def last_user_text(messages: Any) -> str:
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                if part.get("type") == "text":
                    parts.append(str(part.get("text", "")))
                elif part.get("type") == "image_url":
                    parts.append("[image]")
        return " ".join(parts)
    return ""


def split_tokens(text: str) -> list[str]:
    """Word-ish tokens whose concatenation is exactly ``text``."""
    return _TOKEN_RE.findall(text) or [text]


def make_tokens(text: str, count: int | None) -> list[str]:
    tokens = split_tokens(text)
    if count is None:
        return tokens
    count = max(0, count)
    out: list[str] = []
    while len(out) < count:
        out.extend(tokens)
        out.append("\n\n")
    return out[:count]


def estimate_tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def png_bytes(width: int, height: int, seed: str) -> bytes:
    """A real RGB PNG of the given size: two coloured bands chosen by ``seed``."""
    digest = hashlib.sha256(seed.encode()).digest()
    top, bottom = digest[0:3], digest[3:6]
    row_top = b"\x00" + top * width
    row_bottom = b"\x00" + bottom * width
    half = height // 2
    raw = row_top * half + row_bottom * (height - half)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def embedding_vector(text: str, dims: int) -> list[float]:
    values: list[float] = []
    counter = 0
    while len(values) < dims:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values.extend((b / 127.5) - 1.0 for b in digest)
        counter += 1
    values = values[:dims]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    return [round(v / norm, 6) for v in values]


def tone(freq: float, seconds: float, rate: int = 24000):
    import numpy as np

    t = np.arange(int(seconds * rate), dtype=np.float32) / rate
    return (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def encode_audio(samples: Any, rate: int, fmt: str) -> tuple[bytes, str]:
    if fmt == "pcm":
        import numpy as np

        return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes(), "audio/pcm"
    import soundfile

    container, subtype, ctype = AUDIO_TYPES[fmt]
    buf = io.BytesIO()
    soundfile.write(buf, samples, rate, format=container, subtype=subtype)
    return buf.getvalue(), ctype


def analyse_audio(data: bytes) -> tuple[float, int, float]:
    """(duration s, sample rate, dominant frequency Hz) of an encoded audio file."""
    import numpy as np
    import soundfile

    samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    duration = len(mono) / rate if rate else 0.0
    if len(mono) < 2:
        return duration, rate, 0.0
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    spectrum[0] = 0.0
    freq = float(np.argmax(spectrum)) * rate / len(mono)
    return duration, int(rate), freq


def srt_time(seconds: float, sep: str = ",") -> str:
    ms = round(seconds * 1000)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


# --------------------------------------------------------------------------- errors


class HttpError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        shape: str = "openai",
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = (
            status,
            message,
            type_,
            code,
            param,
        )
        self.headers = headers or {}
        self.shape = shape

    def body(self) -> tuple[bytes, str]:
        if self.shape == "detail":
            return orjson.dumps({"detail": self.message}), "application/json"
        if self.shape == "text":
            return self.message.encode(), "text/plain; charset=utf-8"
        if self.shape == "html":
            return html_page(self.status, self.message), "text/html; charset=utf-8"
        error = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        return orjson.dumps({"error": error}), "application/json"


REASONS = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Time-out"}


def html_page(status: int, message: str) -> bytes:
    reason = REASONS.get(status, message)
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "<script>var padding = 'x';</script>\r\n</body>\r\n</html>\r\n"
    ).encode()


def fault_error(fault: str, b: Behaviour) -> HttpError:
    shape = b.error_shape
    if fault == "400":
        return HttpError(
            400,
            "temperature must be between 0 and 2",
            param="temperature",
            code="invalid_value",
            shape=shape,
        )
    if fault == "401":
        return HttpError(
            401,
            "Incorrect API key provided.",
            "authentication_error",
            "invalid_api_key",
            shape=shape,
        )
    if fault == "402":
        return HttpError(
            402,
            "Insufficient credits: top up your balance.",
            "insufficient_quota",
            "insufficient_quota",
            shape=shape,
        )
    if fault == "404":
        return HttpError(
            404,
            f"The model `{b.name}` does not exist.",
            "not_found",
            "model_not_found",
            shape=shape,
        )
    if fault == "409":
        return HttpError(
            409,
            "Idempotency key reused with a different body.",
            "idempotency_error",
            "idempotency_error",
            shape=shape,
        )
    if fault == "429":
        retry = b.get("retry_after", "1") or "1"
        return HttpError(
            429,
            "Rate limit exceeded: 60 requests per minute.",
            "rate_limit_error",
            "rate_limit_exceeded",
            headers={"Retry-After": retry},
            shape=shape,
        )
    if fault == "500":
        return HttpError(
            500,
            "The server had an error while processing your request.",
            "api_error",
            "internal_error",
            shape=shape,
        )
    if fault == "502":
        return HttpError(
            502,
            "Bad Gateway",
            "upstream_error",
            shape="html" if "errors" not in b.options else shape,
        )
    if fault == "503":
        return HttpError(
            503, "The engine is currently overloaded.", "api_error", "overloaded", shape=shape
        )
    if fault == "504":
        return HttpError(
            504,
            "Request timed out (3-minute upstream limit).",
            "timeout",
            "gateway_timeout",
            shape=shape,
        )
    raise HttpError(400, f"unknown fault {fault!r}", param="model")


# --------------------------------------------------------------------------- server


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128
    owner: OpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return  # a client that went away (closed a kept-alive connection, cancelled)
        super().handle_error(request, client_address)


class OpenAIServer:
    """The test server. ``start()``/``stop()`` or use it as a context manager."""

    def __init__(
        self, *, api_key: str | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.api_key = api_key
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._fault_counts: dict[str, int] = {}
        self._idempotency: dict[str, tuple[bytes, int, dict[str, str], bytes, str]] = {}
        self._files: dict[str, tuple[bytes, str]] = {}
        self._stream_cache: OrderedDict[tuple, list[bytes]] = OrderedDict()
        self._window = (0, 0)  # (minute, count)
        self._day_count = 0
        self._request_seq = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------

    def start(self) -> OpenAIServer:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="openai-test-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def reset(self) -> None:
        """Forget recorded requests, fault counts, idempotency keys and files."""
        with self._lock:
            self.requests.clear()
            self._fault_counts.clear()
            self._idempotency.clear()
            self._files.clear()

    # state helpers (called from handler threads) --------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _fault_due(self, model: str, b: Behaviour) -> bool:
        if "times" not in b.options:
            return True
        limit = int(b.number("times", 0))
        with self._lock:
            seen = self._fault_counts.get(model, 0)
            self._fault_counts[model] = seen + 1
        return seen < limit

    def _rate_headers(self) -> dict[str, str]:
        now = time.time()
        minute = int(now // 60)
        with self._lock:
            self._request_seq += 1
            seq = self._request_seq
            m, count = self._window
            count = count + 1 if m == minute else 1
            self._window = (minute, count)
            self._day_count += 1
            day = self._day_count
        return {
            "x-request-id": f"req_test_{seq}",
            "X-RateLimit-Limit-Requests": "60",
            "X-RateLimit-Remaining-Requests": str(max(0, 60 - count)),
            "X-RateLimit-Reset-Requests": str((minute + 1) * 60),
            "X-RateLimit-Limit-Requests-Day": "10000",
            "X-RateLimit-Remaining-Requests-Day": str(max(0, 10000 - day)),
            "X-RateLimit-Reset-Requests-Day": str((int(now // 86400) + 1) * 86400),
        }

    def _store_file(self, data: bytes, ctype: str, suffix: str) -> str:
        name = hashlib.sha256(data).hexdigest()[:24] + suffix
        with self._lock:
            self._files[name] = (data, ctype)
        return f"{self.origin}/files/{name}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    server_version = "PalaverTestServer/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    @property
    def owner(self) -> OpenAIServer:
        return self.server.owner

    # plumbing -----------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _read_request(self, method: str) -> RecordedRequest:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        rec = RecordedRequest(
            method, unquote(parts.path), dict(parse_qsl(parts.query)), headers, body
        )
        ctype = headers.get("content-type", "")
        if body and "json" in ctype:
            try:
                rec.json = orjson.loads(body)
            except orjson.JSONDecodeError:
                rec.json = None
        elif body and ctype.startswith("multipart/form-data"):
            rec.form, rec.files = parse_multipart(ctype, body)
        return rec

    def _dispatch(self, method: str) -> None:
        try:
            rec = self._read_request(method)
        except Exception:
            self.close_connection = True
            return
        self.owner._record(rec)
        self._rl = self.owner._rate_headers()
        model = rec.model
        shape = Behaviour.parse(model if isinstance(model, str) else None).error_shape
        try:
            self._route(rec)
        except HttpError as exc:
            self._send_error(exc)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a bug here must still answer
            self._send_error(
                HttpError(500, f"test server error: {exc!r}", "api_error", shape=shape)
            )

    def _send(
        self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        for key, value in {**self._rl, **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(
        self, obj: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        self._send(status, orjson.dumps(obj), "application/json", headers)

    def _send_error(self, exc: HttpError) -> None:
        body, ctype = exc.body()
        try:
            self._send(exc.status, body, ctype, exc.headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _start_chunked(self, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        for key, value in {**self._rl, **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _write_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%b\r\n" % (len(data), data))

    def _end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def _abort(self) -> None:
        """Cut the connection mid-body (no terminating chunk)."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # routing ------------------------------------------------------------------

    def _route(self, rec: RecordedRequest) -> None:
        path = rec.path.rstrip("/") or "/"
        if path.startswith("/files/") and rec.method == "GET":
            item = self.owner._files.get(path[len("/files/") :])
            if item is None:
                raise HttpError(404, "No such file.", "not_found")
            self._send(200, item[0], item[1])
            return
        self._check_auth(rec)
        for prefix in ("/api/v1", "/v1", "/api"):
            if path.startswith(prefix + "/"):
                path = path[len(prefix) :]
                break
        if rec.method == "GET":
            if path in ("/models", "/chat/models"):
                self._send_json({"object": "list", "data": [model_object(m) for m in MODEL_IDS]})
                return
            if path.startswith("/models/"):
                model_id = path[len("/models/") :]
                if model_id.startswith("missing"):
                    raise HttpError(
                        404,
                        f"The model `{model_id}` does not exist.",
                        "not_found",
                        "model_not_found",
                    )
                self._send_json(model_object(model_id))
                return
            raise HttpError(404, f"Unknown path {rec.path}", "not_found")
        if rec.method != "POST":
            raise HttpError(405, "Method not allowed.")
        handlers = {
            "/chat/completions": self._chat,
            "/completions": self._completions,
            "/embeddings": self._embeddings,
            "/images/generations": self._images,
            "/audio/speech": self._speech,
            "/audio/transcriptions": self._transcriptions,
            "/moderations": self._moderations,
        }
        handler = handlers.get(path)
        if handler is None:
            raise HttpError(404, f"Unknown path {rec.path}", "not_found")
        model = rec.model
        b = Behaviour.parse(model if isinstance(model, str) else None)
        if rec.json is None and not rec.form and not rec.files:
            raise HttpError(400, "The request body must be JSON.", param=None, shape=b.error_shape)
        if self._idempotent_replay(rec):  # from the cache at once, as a provider answers
            return
        delay = b.number("delay", 0.3 if b.fault == "504" else 0.0)
        if delay > 0:
            time.sleep(delay)
        if b.name.startswith("missing"):
            raise HttpError(
                404,
                f"The model `{b.name}` does not exist.",
                "not_found",
                "model_not_found",
                shape=b.error_shape,
            )
        fault = b.fault
        if fault and fault[0].isdigit() and self.owner._fault_due(str(model), b):
            raise fault_error(fault, b)
        stream_fault = (
            fault
            if fault and not fault[0].isdigit() and self.owner._fault_due(str(model), b)
            else None
        )
        handler(rec, b, stream_fault)

    def _check_auth(self, rec: RecordedRequest) -> None:
        key = self.owner.api_key
        if key is None:
            return
        auth = rec.headers.get("authorization", "")
        shape = Behaviour.parse(rec.model if isinstance(rec.model, str) else None).error_shape
        if auth != f"Bearer {key}":
            msg = "You didn't provide an API key." if not auth else "Incorrect API key provided."
            raise HttpError(401, msg, "authentication_error", "invalid_api_key", shape=shape)

    def _idempotent_replay(self, rec: RecordedRequest) -> bool:
        key = rec.headers.get("idempotency-key")
        if not key or (isinstance(rec.json, dict) and rec.json.get("stream")):
            self._idem_key = None
            return False
        digest = hashlib.sha256(rec.path.encode() + b"\0" + rec.body).digest()
        cached = self.owner._idempotency.get(key)
        if cached is None:
            self._idem_key = (key, digest)
            return False
        if cached[0] != digest:
            raise HttpError(
                409,
                "Idempotency key reused with a different request body.",
                "idempotency_error",
                "idempotency_error",
            )
        _, status, headers, body, ctype = cached
        self._send(status, body, ctype, {**headers, "Idempotent-Replayed": "true"})
        return True

    def _reply(self, obj: Any, headers: dict[str, str] | None = None) -> None:
        """A JSON 200 that is remembered under the request's idempotency key."""
        body = orjson.dumps(obj)
        idem = getattr(self, "_idem_key", None)
        if idem is not None:
            with self.owner._lock:
                self.owner._idempotency[idem[0]] = (
                    idem[1],
                    200,
                    headers or {},
                    body,
                    "application/json",
                )
        self._send(200, body, "application/json", headers)

    # endpoints ----------------------------------------------------------------

    def _chat(self, rec: RecordedRequest, b: Behaviour, fault: str | None) -> None:
        req = rec.json if isinstance(rec.json, dict) else {}
        validate_chat(req, b.error_shape)
        model = req["model"]
        n = int(req.get("n") or 1)
        if b.name in IMAGE_CHAT_MODELS or b.get("image") == "1":
            url = self.owner._store_file(
                png_bytes(64, 64, last_user_text(req["messages"])), "image/png", ".png"
            )
            text = f"![Generated Image]({url})"
        else:
            text = answer_text(model, req["messages"])
        count = int(b.number("tokens", -1))
        texts = [text if i == 0 else f"[{i}] {text}" for i in range(n)]
        tool_count = int(b.number("tools", 0))
        tools = make_tool_calls(req, tool_count) if tool_count > 0 else []
        prompt_tokens = estimate_tokens(
            " ".join(content_text(m.get("content")) for m in req["messages"] if isinstance(m, dict))
        )
        if not req.get("stream"):
            tokens_per_choice = [make_tokens(t, count if count >= 0 else None) for t in texts]
            choices = []
            for i, toks in enumerate(tokens_per_choice):
                message: dict[str, Any] = {
                    "role": "assistant",
                    "content": None if tools else "".join(toks),
                }
                if tools:
                    message["tool_calls"] = tools
                choices.append(
                    {
                        "index": i,
                        "message": message,
                        "logprobs": None,
                        "finish_reason": "tool_calls" if tools else "stop",
                    }
                )
            completion = sum(len(t) for t in tokens_per_choice)
            usage = None if b.flavor == "spafe" else _usage(prompt_tokens, completion)
            self._reply(
                {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": 1730000000,
                    "model": model,
                    "system_fingerprint": "fp_test",
                    "choices": choices,
                    "usage": usage,
                }
            )
            return
        include_usage = bool((req.get("stream_options") or {}).get("include_usage"))
        if b.flavor == "seed004":
            include_usage = True
        if b.flavor == "spafe":
            include_usage = False
        key = (model, n, include_usage, tool_count, fault, prompt_tokens, texts[0])
        cache = self.owner._stream_cache
        with self.owner._lock:
            events = cache.get(key)
        if events is None:
            events = build_chat_events(
                model, texts, count, b.flavor, include_usage, tools, prompt_tokens, fault
            )
            with self.owner._lock:
                cache[key] = events
                while len(cache) > 8:
                    cache.popitem(last=False)
        self._stream_events(events, b, fault)

    def _stream_events(self, events: list[bytes], b: Behaviour, fault: str | None) -> None:
        if fault == "comments":
            events = [
                b": keep-alive comment\r\n\r\ndata:\r\n\r\n" + e.replace(b"\n", b"\r\n")
                for e in events
            ]
        self._start_chunked("text/event-stream; charset=utf-8")
        drop_at = None
        if fault == "drop":
            drop_at = int(b.number("drop_after", max(1, len(events) // 2)))
        rate = b.number("rate", 20.0 if fault == "slow" else 0.0)
        try:
            if rate <= 0 and drop_at is None:
                blob = b"".join(events)
                step = 1 << 18
                for i in range(0, len(blob), step):
                    self._write_chunk(blob[i : i + step])
                self._end_chunked()
                return
            start = time.perf_counter()
            pending: list[bytes] = []
            for i, event in enumerate(events):
                if drop_at is not None and i >= drop_at:
                    self._write_chunk(b"".join(pending))
                    self._abort()
                    return
                if rate > 0:
                    due = start + i / rate
                    wait = due - time.perf_counter()
                    if wait > 0:
                        self._write_chunk(b"".join(pending))
                        pending.clear()
                        time.sleep(wait)
                pending.append(event)
                if len(pending) >= 4096:
                    self._write_chunk(b"".join(pending))
                    pending.clear()
            self._write_chunk(b"".join(pending))
            self._end_chunked()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def _completions(self, rec: RecordedRequest, b: Behaviour, fault: str | None) -> None:
        req = rec.json if isinstance(rec.json, dict) else {}
        if not req.get("model"):
            raise HttpError(400, "model is missing", param="model", shape=b.error_shape)
        prompt = req.get("prompt")
        if prompt is None:
            raise HttpError(400, "prompt is missing", param="prompt", shape=b.error_shape)
        prompt_text = prompt if isinstance(prompt, str) else " ".join(map(str, prompt))
        text = f" This is a test completion for: {prompt_text.strip()[:80]}"
        count = int(b.number("tokens", -1))
        tokens = make_tokens(text, count if count >= 0 else None)
        model = req["model"]
        usage = _usage(estimate_tokens(prompt_text), len(tokens))
        if not req.get("stream"):
            self._reply(
                {
                    "id": "cmpl-test",
                    "object": "text_completion",
                    "created": 1730000000,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "text": "".join(tokens),
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                }
            )
            return
        head = (
            b'data: {"id":"cmpl-test","object":"text_completion","created":1730000000,"model":'
            + orjson.dumps(model)
        )
        events = [
            head
            + b',"choices":[{"index":0,"text":'
            + orjson.dumps(tok)
            + b',"logprobs":null,"finish_reason":null}]}\n\n'
            for tok in tokens
        ]
        events.append(
            head + b',"choices":[{"index":0,"text":"","logprobs":null,"finish_reason":"stop"}]}\n\n'
        )
        if (req.get("stream_options") or {}).get("include_usage"):
            events.append(head + b',"choices":[],"usage":' + orjson.dumps(usage) + b"}\n\n")
        if fault == "malformed":
            events.insert(len(events) // 2, b'data: {"choices": [broken\n\n')
        events.append(_DONE)
        self._stream_events(events, b, fault)

    def _embeddings(self, rec: RecordedRequest, b: Behaviour, fault: str | None) -> None:
        req = rec.json if isinstance(rec.json, dict) else {}
        if not req.get("model"):
            raise HttpError(400, "model is missing", param="model", shape=b.error_shape)
        inputs = req.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs:
            raise HttpError(
                400,
                "input must be a non-empty string or list of strings",
                param="input",
                shape=b.error_shape,
            )
        dims = int(req.get("dimensions") or b.number("dims", 16))
        data = []
        for i, item in enumerate(inputs):
            vector = embedding_vector(str(item), dims)
            if req.get("encoding_format") == "base64":
                emb: Any = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
            else:
                emb = vector
            data.append({"object": "embedding", "index": i, "embedding": emb})
        tokens = sum(estimate_tokens(str(x)) for x in inputs)
        self._reply(
            {
                "object": "list",
                "data": data,
                "model": req["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    def _images(self, rec: RecordedRequest, b: Behaviour, fault: str | None) -> None:
        req = rec.json if isinstance(rec.json, dict) else {}
        if not req.get("prompt"):
            raise HttpError(400, "prompt is missing", param="prompt", shape=b.error_shape)
        size = str(req.get("size") or ("1024*1024" if b.flavor == "seed002" else "1024x1024"))
        seps = "*" if b.flavor == "seed002" else "x*"
        match = re.fullmatch(rf"(\d+)[{re.escape(seps)}](\d+)", size)
        if size == "auto":
            match = re.fullmatch(r"(\d+)x(\d+)", "1024x1024")
        if not match:
            spelled = "W*H, e.g. 1024*1024" if b.flavor == "seed002" else "WxH, e.g. 1024x1024"
            raise HttpError(
                400,
                f"size must be spelled {spelled}, got {size!r}",
                param="size",
                shape=b.error_shape,
            )
        width, height = int(match.group(1)), int(match.group(2))
        if not (16 <= width <= 2048 and 16 <= height <= 2048):
            raise HttpError(
                400, "size is out of range (16..2048)", param="size", shape=b.error_shape
            )
        n = int(req.get("n") or 1)
        if not 1 <= n <= 10:
            raise HttpError(400, "n must be between 1 and 10", param="n", shape=b.error_shape)
        fmt = req.get("response_format") or "b64_json"
        data = []
        for i in range(n):
            png = png_bytes(width, height, f"{req['prompt']}#{i}")
            item: dict[str, Any] = {"revised_prompt": req["prompt"]}
            if fmt == "url":
                item["url"] = self.owner._store_file(png, "image/png", ".png")
            else:
                item["b64_json"] = base64.b64encode(png).decode()
            data.append(item)
        self._reply({"created": 1730000000, "data": data})

    def _speech(self, rec: RecordedRequest, b: Behaviour, fault: str | None) -> None:
        req = rec.json if isinstance(rec.json, dict) else {}
        text = req.get("input")
        if not text:
            raise HttpError(400, "input is missing", param="input", shape=b.error_shape)
        fmt = req.get("response_format") or "mp3"
        if fmt not in (*AUDIO_TYPES, "pcm"):
            raise HttpError(
                400,
                f"response_format {fmt!r} is not supported here",
                param="response_format",
                shape=b.error_shape,
            )
        speed = float(req.get("speed") or 1.0)
        if not 0.25 <= speed <= 4.0:
            raise HttpError(
                400, "speed must be between 0.25 and 4.0", param="speed", shape=b.error_shape
            )
        seconds = max(0.3, min(8.0, len(str(text)) * 0.06)) / speed
        freq = VOICE_HZ.get(str(req.get("voice")), 440.0)
        audio, ctype = encode_audio(tone(freq, seconds), 24000, fmt)
        self._start_chunked(ctype)
        try:
            for i in range(0, len(audio), 8192):
                self._write_chunk(audio[i : i + 8192])
            self._end_chunked()
        except OSError:
            self.close_connection = True

    def _transcriptions(self, rec: RecordedRequest, b: Behaviour, fault: str | None) -> None:
        upload = rec.files.get("file")
        if upload is None:
            raise HttpError(400, "file is missing", param="file", shape=b.error_shape)
        if not rec.form.get("model"):
            raise HttpError(400, "model is missing", param="model", shape=b.error_shape)
        try:
            duration, rate, freq = analyse_audio(upload[2])
        except Exception as exc:
            raise HttpError(
                400, f"Could not decode the audio file: {exc}", param="file", shape=b.error_shape
            ) from exc
        text = f"Test transcription: {duration:.2f} seconds at {rate} Hz, dominant frequency {freq:.0f} Hz."
        if rec.form.get("prompt"):
            text += f" Prompt: {rec.form['prompt']}"
        language = rec.form.get("language") or "en"
        fmt = rec.form.get("response_format") or "json"
        if fmt == "json":
            self._send_json({"text": text})
        elif fmt == "text":
            self._send(200, text.encode(), "text/plain; charset=utf-8")
        elif fmt == "srt":
            body = f"1\n{srt_time(0)} --> {srt_time(duration)}\n{text}\n\n"
            self._send(200, body.encode(), "text/plain; charset=utf-8")
        elif fmt == "vtt":
            body = f"WEBVTT\n\n{srt_time(0, '.')} --> {srt_time(duration, '.')}\n{text}\n\n"
            self._send(200, body.encode(), "text/vtt; charset=utf-8")
        elif fmt == "verbose_json":
            segment = {
                "id": 0,
                "seek": 0,
                "start": 0.0,
                "end": round(duration, 3),
                "text": text,
                "tokens": [],
                "temperature": float(rec.form.get("temperature") or 0.0),
                "avg_logprob": -0.1,
                "compression_ratio": 1.0,
                "no_speech_prob": 0.01,
            }
            self._send_json(
                {
                    "task": "transcribe",
                    "language": language,
                    "duration": round(duration, 3),
                    "text": text,
                    "segments": [segment],
                    "sample_rate": rate,
                    "dominant_frequency": round(freq, 1),
                }
            )
        else:
            raise HttpError(
                400,
                f"response_format {fmt!r} is not supported",
                param="response_format",
                shape=b.error_shape,
            )

    def _moderations(self, rec: RecordedRequest, b: Behaviour, fault: str | None) -> None:
        req = rec.json if isinstance(rec.json, dict) else {}
        inputs = req.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs:
            raise HttpError(400, "input is missing", param="input", shape=b.error_shape)
        results = []
        for item in inputs:
            words = set(re.findall(r"[a-z]+", str(item).lower()))
            violent = bool(words & {"kill", "bomb", "attack", "murder"})
            hateful = bool(words & {"hate", "hateful"})
            cats = {
                "hate": hateful,
                "hate/threatening": False,
                "harassment": hateful,
                "harassment/threatening": False,
                "self-harm": False,
                "sexual": False,
                "sexual/minors": False,
                "violence": violent,
                "violence/graphic": False,
            }
            scores = {k: (0.91 if v else 0.01) for k, v in cats.items()}
            results.append(
                {"flagged": violent or hateful, "categories": cats, "category_scores": scores}
            )
        self._reply(
            {
                "id": "modr-test",
                "model": req.get("model") or "omni-moderation-test",
                "results": results,
            }
        )


# --------------------------------------------------------------------------- helpers


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def model_object(model_id: str) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": model_id,
        "object": "model",
        "created": 1700000000,
        "owned_by": "palaver-test",
    }
    if model_id.startswith("gpt-test"):
        obj["pricing"] = {"prompt": "0.0000025", "completion": "0.00001"}
        obj["context_length"] = 128000
    return obj


def validate_chat(req: dict[str, Any], shape: str) -> None:
    """Seed 004's 400s."""

    def bad(message: str, param: str) -> HttpError:
        return HttpError(400, message, param=param, code="invalid_value", shape=shape)

    if not req.get("model"):
        raise bad("model is missing", "model")
    messages = req.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad("messages is missing, not an array, or empty", "messages")
    t = req.get("temperature")
    if t is not None and not (isinstance(t, int | float) and 0 <= t <= 2):
        raise bad("temperature is outside 0–2", "temperature")
    p = req.get("top_p")
    if p is not None and not (isinstance(p, int | float) and 0 <= p <= 1):
        raise bad("top_p is outside 0–1", "top_p")
    m = req.get("max_tokens")
    if m is not None and not (isinstance(m, int) and not isinstance(m, bool) and m > 0):
        raise bad("max_tokens is not a positive integer", "max_tokens")
    stop = req.get("stop")
    if isinstance(stop, list) and len(stop) > 4:
        raise bad("stop array contains more than 4 sequences", "stop")


def make_tool_calls(req: dict[str, Any], count: int) -> list[dict[str, Any]]:
    tools = req.get("tools") or []
    name = "get_weather"
    if tools and isinstance(tools[0], dict):
        name = (tools[0].get("function") or {}).get("name") or name
    city = last_user_text(req.get("messages")).strip()[:40] or "Paris"
    return [
        {
            "id": f"call_test_{i}",
            "type": "function",
            "function": {
                "name": name,
                "arguments": orjson.dumps({"city": city, "day": i}).decode(),
            },
        }
        for i in range(count)
    ]


def build_chat_events(
    model: str,
    texts: list[str],
    count: int,
    flavor: str,
    include_usage: bool,
    tools: list[dict[str, Any]],
    prompt_tokens: int,
    fault: str | None,
) -> list[bytes]:
    """Every SSE event of one streamed chat answer, pre-encoded."""
    head = (
        b'data: {"id":"chatcmpl-test","object":"chat.completion.chunk","created":1730000000,"model":'
        + orjson.dumps(model)
        + b',"system_fingerprint":"fp_test","choices":[{"index":'
    )
    tail_null = b',"logprobs":null,"finish_reason":null}]}\n\n'
    events: list[bytes] = []
    n = len(texts)
    usage_null = b',"usage":null' if flavor == "spafe" else b""
    if flavor == "spafe" and not tools:
        for i, text in enumerate(texts):
            content = "".join(make_tokens(text, count if count >= 0 else None))
            events.append(
                head
                + b"%d" % i
                + b',"delta":{"content":'
                + orjson.dumps(content)
                + b',"role":"assistant"}'
                b',"finish_reason":null}]' + usage_null + b"}\n\n"
            )
        for i in range(n):
            events.append(
                head
                + b"%d" % i
                + b',"delta":{"content":"","role":"assistant"},"finish_reason":"stop"}]'
                + usage_null
                + b"}\n\n"
            )
        events.append(_DONE)
        return events
    completion = 0
    for i in range(n):
        events.append(head + b"%d" % i + b',"delta":{"role":"assistant","content":""}' + tail_null)
    if tools:
        for i in range(n):
            for t, call in enumerate(tools):
                start = {
                    "index": t,
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["function"]["name"], "arguments": ""},
                }
                events.append(
                    head
                    + b"%d" % i
                    + b',"delta":{"tool_calls":['
                    + orjson.dumps(start)
                    + b"]}"
                    + tail_null
                )
                args = call["function"]["arguments"]
                for j in range(0, len(args), 7):
                    frag = {"index": t, "function": {"arguments": args[j : j + 7]}}
                    events.append(
                        head
                        + b"%d" % i
                        + b',"delta":{"tool_calls":['
                        + orjson.dumps(frag)
                        + b"]}"
                        + tail_null
                    )
                    completion += 1
        finish = b'"tool_calls"'
    else:
        per_choice = [make_tokens(t, count if count >= 0 else None) for t in texts]
        longest = max(len(t) for t in per_choice)
        for k in range(longest):
            for i, toks in enumerate(per_choice):
                if k < len(toks):
                    events.append(
                        head
                        + b"%d" % i
                        + b',"delta":{"content":'
                        + orjson.dumps(toks[k])
                        + b"}"
                        + tail_null
                    )
        completion = sum(len(t) for t in per_choice)
        finish = b'"stop"'
    for i in range(n):
        events.append(
            head + b"%d" % i + b',"delta":{},"logprobs":null,"finish_reason":' + finish + b"}]}\n\n"
        )
    if include_usage:
        usage = orjson.dumps(_usage(prompt_tokens, completion))
        events.append(
            head[: head.index(b'"choices"')] + b'"choices":[],"usage":' + usage + b"}\n\n"
        )
    if fault == "malformed":
        events.insert(
            min(len(events) - 1, n + 2),
            b'data: {"id":"chatcmpl-test","choices":[{"delta": broken json\n\n',
        )
    events.append(_DONE)
    return events


def parse_multipart(
    ctype: str, body: bytes
) -> tuple[dict[str, str], dict[str, tuple[str | None, str, bytes]]]:
    parser = email.parser.BytesParser(policy=email.policy.HTTP)
    message = parser.parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    )
    form: dict[str, str] = {}
    files: dict[str, tuple[str | None, str, bytes]] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, part.get_content_type(), payload)
        else:
            form[name] = payload.decode("utf-8", "replace")
    return form, files


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Palaver's local OpenAI-compatible test server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args(argv)
    server = OpenAIServer(api_key=args.api_key, host=args.host, port=args.port).start()
    print(f"OpenAI-compatible test server on {server.base_url} (Ctrl+C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
