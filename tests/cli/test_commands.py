"""The terminal commands, end to end: real HTTP over loopback, a real data directory."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.__main__ import main
from tests.helpers.memory_keyring import MemoryKeyring
from tests.helpers.openai_server import OpenAIServer

KEY = "sk-cli-test-key"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(api_key=KEY) as running:
        yield running


def run(
    capsys: pytest.CaptureFixture[str], data: Path, *argv: str, stdin: str | None = None
) -> tuple[int, str, str]:
    if stdin is not None:
        import io

        sys.stdin = io.StringIO(stdin)
    try:
        code = main([*argv, "--data-dir", str(data)])
    finally:
        sys.stdin = sys.__stdin__
    out, err = capsys.readouterr()
    return code, out, err


def added(capsys: pytest.CaptureFixture[str], data: Path, server: OpenAIServer) -> None:
    code, out, _ = run(
        capsys, data, "providers", "add", "--base-url", server.base_url, "--name", "Local box",
        "--key-stdin", "--json", stdin=KEY + "\n",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["key"] == "keyring"


def test_providers_add_list_and_test_with_the_key_in_the_keyring(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    server: OpenAIServer,
    memory_keyring: MemoryKeyring,
) -> None:
    added(capsys, tmp_path, server)
    assert KEY in memory_keyring.passwords.values()
    assert KEY not in "".join(p.read_text() for p in tmp_path.rglob("*.json"))  # never on disk
    code, out, _ = run(capsys, tmp_path, "providers", "list", "--json")
    [listed] = json.loads(out)
    assert code == 0 and listed["id"] == "local-box" and listed["key"] == "keyring"
    code, out, _ = run(capsys, tmp_path, "providers", "test", "local-box", "--json")
    tested = json.loads(out)
    assert code == 0 and tested["ok"] and "gpt-test" in tested["models"]
    assert server.requests[-1].headers.get("authorization") == f"Bearer {KEY}"


def test_a_wrong_key_and_an_unreachable_server_are_one_plain_line_and_a_failure(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    server: OpenAIServer,
    memory_keyring: MemoryKeyring,
) -> None:
    code, _, _ = run(
        capsys, tmp_path, "providers", "add", "--base-url", server.base_url, "--id", "wrong",
        "--key-stdin", stdin="sk-wrong\n",
    )  # fmt: skip
    assert code == 0
    code, _, err = run(capsys, tmp_path, "providers", "test", "wrong")
    assert code == 1 and err.startswith("palaver: Wrong key") and err.count("palaver:") == 1
    code, _, _ = run(
        capsys, tmp_path, "providers", "add", "--base-url", "http://127.0.0.1:9/v1", "--id", "gone"
    )
    code, _, err = run(capsys, tmp_path, "providers", "test", "gone")
    assert code == 1 and "palaver:" in err and "Traceback" not in err


def test_ask_streams_saves_both_messages_continues_and_is_in_usage_and_history(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    server: OpenAIServer,
    memory_keyring: MemoryKeyring,
) -> None:
    added(capsys, tmp_path, server)
    code, out, err = run(capsys, tmp_path, "ask", "--model", "gpt-test", "Tell me about RAID 5")
    assert code == 0, err
    assert "Tell me about RAID 5" in out  # the test server echoes the question
    code, out, _ = run(capsys, tmp_path, "history", "list", "--json")
    [conversation] = json.loads(out)
    assert conversation["title"] == "Tell me about RAID 5" and conversation["model"] == "gpt-test"
    code, out, _ = run(
        capsys, tmp_path, "ask", "--conversation", str(conversation["id"]), "--json", "And RAID 6?"
    )
    answer = json.loads(out)
    assert code == 0 and answer["conversation_id"] == conversation["id"]
    assert answer["status"] == "complete" and answer["model"] == "gpt-test"
    assert answer["output_tokens"] > 0 and answer["cost"] is not None  # gpt-test is priced
    code, out, _ = run(capsys, tmp_path, "history", "show", str(conversation["id"]), "--json")
    shown = json.loads(out)
    assert [m["role"] for m in shown["messages"]] == ["user", "assistant", "user", "assistant"]
    code, out, _ = run(capsys, tmp_path, "history", "search", "RAID", "--json")
    assert code == 0 and any(
        hit["conversation_id"] == conversation["id"] for hit in json.loads(out)
    )
    code, out, _ = run(capsys, tmp_path, "usage", "--json")
    rows = json.loads(out)
    chats = [r for r in rows if r["endpoint"] == "chat"]
    assert len(chats) == 2 and all(r["status"] == "ok" for r in chats)
    assert set(rows[0]) >= {
        "time", "provider", "model", "endpoint", "status", "input_tokens", "output_tokens",
        "cost", "estimated",
    }  # fmt: skip
    assert rows[0]["time"].endswith("Z")
    code, out, _ = run(capsys, tmp_path, "usage", "--since", "2999-01-01", "--json")
    assert code == 0 and json.loads(out) == []


def test_a_dropped_answer_keeps_what_arrived_and_fails(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    server: OpenAIServer,
    memory_keyring: MemoryKeyring,
) -> None:
    added(capsys, tmp_path, server)
    code, out, err = run(
        capsys, tmp_path, "ask", "--model", "gpt-test?fault=drop", "A long answer please"
    )
    assert code == 1 and out.strip() and "kept in the history" in err
    _, shown, _ = run(capsys, tmp_path, "history", "show", "1", "--json")
    answer = json.loads(shown)["messages"][-1]
    assert answer["status"] == "interrupted" and answer["text"].strip() == out.strip()


def test_models_lists_live_prices_in_the_stable_shape(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    server: OpenAIServer,
    memory_keyring: MemoryKeyring,
) -> None:
    added(capsys, tmp_path, server)
    code, out, _ = run(capsys, tmp_path, "models", "--json", "--refresh")
    models = {m["id"]: m for m in json.loads(out)}
    assert code == 0 and models["gpt-test"]["provider"] == "local-box"
    assert models["gpt-test"]["input_price_per_1m"] == 2.5 and models["gpt-test"]["listed"]
    for entry in models.values():
        assert {"id", "provider", "input_price_per_1m", "output_price_per_1m", "category",
                "context_length"} <= set(entry)  # fmt: skip


def test_bad_input_is_one_line_and_non_zero(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    code, _, err = run(capsys, tmp_path, "ask", "hello")
    assert (
        code == 1
        and err.strip() == "palaver: No provider yet: add one with `palaver providers add`."
    )
    code, _, err = run(capsys, tmp_path, "ask", "--provider", "nobody", "hello")
    assert code == 1 and "No provider “nobody”" in err
    code, _, err = run(capsys, tmp_path, "history", "show", "42")
    assert code == 1 and "No conversation 42" in err
    code, _, err = run(capsys, tmp_path, "providers", "add", "--preset", "no-such")
    assert code == 1 and "No preset “no-such”" in err and len(err.strip().splitlines()) == 1


def test_the_terminal_commands_never_load_qt(tmp_path: Path) -> None:
    probe = (
        "import sys; from app.__main__ import main; "
        f"code = main(['models', '--json', '--data-dir', {str(tmp_path)!r}]); "
        "assert 'PySide6' not in sys.modules, 'Qt was imported'; sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_ask_says_how_long_it_waits_when_rate_limited_then_answers(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    server: OpenAIServer,
    memory_keyring: MemoryKeyring,
) -> None:
    added(capsys, tmp_path, server)
    code, out, err = run(
        capsys, tmp_path, "ask", "--model", "gpt-test?fault=429&times=1&retry_after=1", "Hi there"
    )
    assert code == 0 and "Hi there" in out
    assert "palaver: waiting 1 s (rate limited (429); trying again)" in err


def test_a_provider_without_a_model_list_is_probed_with_one_token(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    server: OpenAIServer,
    memory_keyring: MemoryKeyring,
) -> None:
    code, out, _ = run(
        capsys, tmp_path, "providers", "add", "--preset", "stapi", "--base-url", server.base_url,
        "--key-stdin", "--json", stdin=KEY + "\n",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["id"] == "stapi"
    code, out, _ = run(capsys, tmp_path, "providers", "test", "stapi")
    assert code == 0 and "no model list" in out and server.requests == []
    code, out, _ = run(capsys, tmp_path, "providers", "test", "stapi", "--probe", "--json")
    probe = json.loads(out)
    assert code == 0 and probe["ok"] and probe["headline"].startswith("The key works")
    assert server.requests[-1].json["max_tokens"] == 1
    _, out, _ = run(capsys, tmp_path, "usage", "--json")
    assert [r["endpoint"] for r in json.loads(out)] == ["chat"]  # the probe is in the ledger


def test_a_preset_whose_docs_name_no_host_asks_for_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    code, _, err = run(capsys, tmp_path, "providers", "add", "--preset", "seed-004")
    assert code == 1 and "names no host: pass --base-url" in err
    code, out, _ = run(
        capsys, tmp_path, "providers", "add", "--preset", "seed-004",
        "--base-url", "https://proxy.example/seed4", "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["base_url"] == "https://proxy.example/seed4"
