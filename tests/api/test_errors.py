"""The error tree and the one status→error function, over every body shape."""

from __future__ import annotations

import orjson
import pytest

from app.api import errors as e


def _err(
    status: int, body: bytes | str, ctype: str = "application/json", **headers: str
) -> e.ApiStatusError:
    raw = body.encode() if isinstance(body, str) else body
    return e.error_from_response(
        status, raw, {"content-type": ctype, **headers}, request_id="req_1"
    )


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, e.BadRequestError),
        (401, e.AuthenticationError),
        (402, e.InsufficientCreditsError),
        (403, e.PermissionDeniedError),
        (404, e.NotFoundError),
        (409, e.ConflictError),
        (429, e.RateLimitError),
        (500, e.InternalServerError),
        (502, e.BadGatewayError),
        (503, e.ServiceUnavailableError),
        (504, e.GatewayTimeoutError),
        (418, e.ApiStatusError),
        (599, e.InternalServerError),
    ],
)
def test_status_maps_to_class(status: int, cls: type[e.ApiStatusError]) -> None:
    err = _err(status, orjson.dumps({"error": {"message": "boom", "type": "t", "code": "c"}}))
    assert type(err) is cls
    assert isinstance(err, e.ApiStatusError) and isinstance(err, e.ApiError)
    assert err.status == status and err.message == "boom" and err.code == "c" and err.type == "t"
    assert err.request_id == "req_1"
    assert "boom" in err.user_message and str(status) in err.user_message


def test_openai_shape_keeps_param() -> None:
    body = {
        "error": {
            "message": "temperature is outside 0–2",
            "type": "invalid_request_error",
            "param": "temperature",
            "code": None,
        }
    }
    err = _err(400, orjson.dumps(body))
    assert err.param == "temperature" and err.code is None
    assert "temperature is outside 0–2" in err.user_message


def test_detail_string_and_list() -> None:
    assert _err(400, '{"detail": "Model not loaded"}').message == "Model not loaded"
    err = _err(
        422,
        '{"detail": [{"loc": ["body", "messages"], "msg": "field required", "type": "missing"}]}',
    )
    assert err.message == "messages: field required" and err.param == "messages"


def test_error_as_plain_string_and_message_key() -> None:
    assert _err(500, '{"error": "upstream exploded"}').message == "upstream exploded"
    assert _err(500, '{"message": "nope"}').message == "nope"


def test_plain_text_body() -> None:
    err = _err(500, "  Internal   Server\nError ", "text/plain")
    assert err.message == "Internal Server Error"


def test_html_proxy_page_uses_title_never_html() -> None:
    page = (
        "<html><head><title>502 Bad Gateway</title><style>body{}</style></head><body><h1>x</h1>"
        + "<p>junk</p>" * 500
        + "</body></html>"
    )
    err = _err(502, page, "text/html")
    assert isinstance(err, e.BadGatewayError)
    assert err.message == "502 Bad Gateway"
    assert "<" not in err.user_message and "junk" not in err.user_message


def test_html_without_content_type_and_without_title() -> None:
    err = _err(504, "<!DOCTYPE html><html><body><h1>Gateway &amp; Timeout</h1></body></html>", "")
    assert err.message == "Gateway & Timeout"
    err = _err(502, "<html><body><p>x</p></body></html>", "text/html")
    assert "HTML" in err.message and "<" not in err.message


def test_empty_body_gives_reason() -> None:
    assert _err(401, b"").message == "Unauthorized."
    assert _err(402, b"", "").message == "Payment required."


def test_long_text_is_cut() -> None:
    assert len(_err(500, "x" * 10_000, "text/plain").message) <= 500


def test_keys_in_messages_are_redacted() -> None:
    err = _err(401, '{"error": {"message": "Incorrect API key provided: sk-abcdefghijklmnop"}}')
    assert "abcdefghijklmnop" not in err.message


def test_retry_after_forms() -> None:
    assert _err(429, "{}", **{"retry-after": "7"}).retry_after == 7.0  # type: ignore[attr-defined]
    assert e.parse_retry_after({"Retry-After-Ms": "1500"}) == 1.5
    assert e.parse_retry_after(
        {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470.0
    ) == pytest.approx(10.0)
    assert e.parse_retry_after({"Retry-After": "soon"}) is None
    assert e.parse_retry_after({}) is None
    err = _err(429, "{}")
    assert (
        isinstance(err, e.RateLimitError)
        and err.retry_after is None
        and "shortly" in err.user_message
    )


def test_user_messages_read_as_plain_words() -> None:
    err = e.error_from_response(401, b'{"error":{"message":"bad key"}}', {}, provider="Stansa")
    assert (
        err.user_message.startswith("The API key was rejected (401)")
        and "Stansa" in err.user_message
    )
    assert "402" in _err(402, "{}").user_message and "credits" in _err(402, "{}").user_message
    assert "cut off" in e.StreamInterruptedError("eof", partial="x").user_message
    assert e.StreamInterruptedError("eof", partial="x").partial == "x"
    assert isinstance(e.TLSError("cert"), e.ApiConnectionError)
    v = e.RequestValidationError("Temperature must be between 0 and 2.", field="temperature")
    assert (
        isinstance(v, ValueError)
        and v.field == "temperature"
        and str(v) == "Temperature must be between 0 and 2."
    )
