"""The SSE decoder, fed every way a network can cut a stream."""

from __future__ import annotations

import pytest

from app.api.sse import SSEDecoder

STREAM = (
    b": this is a comment\n"
    b"\n"
    b'data: {"a": 1}\n'
    b"\n"
    b"data:\n"
    b"\n"
    b"data: \n"
    b"\n"
    b"event: update\n"
    b"id: 42\n"
    b"retry: 1500\n"
    b"data: line one\n"
    b"data: line two\n"
    b"\n"
    b"data:no-space\n"
    b"\n"
    b": comment between\n"
    b'data: {"b": "\xc3\xa9\xe2\x82\xac"}\n'
    b"unknown: field\n"
    b"\n"
    b"data: [DONE]\n"
    b"\n"
)
EXPECTED = [
    (None, b'{"a": 1}'),
    ("update", b"line one\nline two"),
    (None, b"no-space"),
    (None, b'{"b": "\xc3\xa9\xe2\x82\xac"}'),
    (None, b"[DONE]"),
]


def decode(pieces: list[bytes]) -> tuple[list[tuple[str | None, bytes]], SSEDecoder]:
    decoder = SSEDecoder()
    out: list[tuple[str | None, bytes]] = []
    for piece in pieces:
        out.extend(decoder.feed(piece))
    out.extend(decoder.flush())
    return out, decoder


def test_whole() -> None:
    out, decoder = decode([STREAM])
    assert out == EXPECTED
    assert decoder.last_event_id == "42" and decoder.retry_ms == 1500


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_split_at_every_byte_boundary(newline: bytes) -> None:
    stream = STREAM.replace(b"\n", newline)
    for cut in range(len(stream) + 1):
        out, _ = decode([stream[:cut], stream[cut:]])
        assert out == EXPECTED, (newline, cut)


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_split_at_every_pair_of_boundaries(newline: bytes) -> None:
    stream = STREAM.replace(b"\n", newline)[:160]
    whole, _ = decode([stream])
    for a in range(0, len(stream) + 1, 3):
        for b in range(a, len(stream) + 1, 5):
            out, _ = decode([stream[:a], stream[a:b], stream[b:]])
            assert out == whole, (a, b)


def test_one_byte_at_a_time() -> None:
    stream = STREAM.replace(b"\n", b"\r\n")
    out, _ = decode([stream[i : i + 1] for i in range(len(stream))])
    assert out == EXPECTED


def test_flush_dispatches_a_last_event_without_blank_line() -> None:
    out, _ = decode([b'data: {"x": 1}\n\ndata: [DONE]\n'])
    assert out == [(None, b'{"x": 1}'), (None, b"[DONE]")]
    out, _ = decode([b"data: [DONE]"])
    assert out == [(None, b"[DONE]")]
    out, _ = decode([b"data: x\r"])
    assert out == [(None, b"x")]


def test_feed_returns_nothing_until_an_event_is_complete() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: {") == []
    assert decoder.feed(b'"a":1}\n') == []
    assert decoder.feed(b"\n") == [(None, b'{"a":1}')]
    assert decoder.feed(b"") == []


def test_broken_json_is_passed_through_untouched() -> None:
    """Parsing is the stream's job: the decoder hands over the bytes as sent."""
    out, _ = decode([b"data: {broken\n\ndata: {}\n\n"])
    assert out == [(None, b"{broken"), (None, b"{}")]


def test_many_events_in_one_read() -> None:
    chunk = b"".join(b'data: {"i": %d}\n\n' % i for i in range(1000))
    out, _ = decode([chunk])
    assert len(out) == 1000 and out[-1] == (None, b'{"i": 999}')


def test_id_with_nul_is_ignored() -> None:
    _, decoder = decode([b"id: a\x00b\ndata: x\n\n"])
    assert decoder.last_event_id is None
