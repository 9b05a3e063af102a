"""``palaver ask``: time to the first answer byte on stdout, against the app's own start-up.

The figure the issue names, ``cli_first_token_ratio``, is the terminal's first token over
(the GUI's start-up to an interactive window + the provider's own time to first token),
all measured in this run against the same local OpenAI-compatible server (a separate,
lower-priority process) and the same data directory. Medians of five; one warm-up run of
each first (bytecode caches, the provider's model list, the daily backup).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.helpers.bench_tools import start_server  # noqa: E402

RUNS = 5
MODEL = "gpt-test"


def gui_startup_s(data: Path, env: dict[str, str]) -> float:
    """Launch to "palaver: interactive" (shown, painted, loop idle) of ``--smoke-test``."""
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--smoke-test", "--data-dir", str(data)],
        cwd=ROOT, env={**env, "QT_QPA_PLATFORM": "offscreen"}, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    seen = None
    for line in proc.stdout:
        if line.startswith("palaver: interactive") and seen is None:
            seen = time.perf_counter() - t
    proc.wait()
    assert seen is not None and proc.returncode == 0, "the app did not start"
    return seen


def cli_first_token_s(data: Path, env: dict[str, str]) -> float:
    """Launch of ``palaver ask`` to its first byte on stdout (the answer streams there)."""
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "ask", "--model", MODEL, "--data-dir", str(data),
         "Explain RAID 5 briefly"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.read(1)
    seconds = time.perf_counter() - t
    _rest, err = proc.communicate()
    assert first and proc.returncode == 0, err.decode(errors="replace")
    return seconds


def provider_ttft_s(base_url: str) -> float:
    """The server's own time to first token for the same request (a warm connection)."""
    import httpx

    body = {"model": MODEL, "stream": True,
            "messages": [{"role": "user", "content": "Explain RAID 5 briefly"}]}  # fmt: skip
    with httpx.Client(timeout=30) as client:
        client.get(f"{base_url}/models")
        t = time.perf_counter()
        with client.stream("POST", f"{base_url}/chat/completions", json=body) as response:
            for line in response.iter_lines():
                if line.startswith("data:") and '"content"' in line:
                    return time.perf_counter() - t
    raise RuntimeError("no token arrived")


def main() -> None:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    server, base_url = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "profile"
            subprocess.run(
                [sys.executable, "-m", "app", "providers", "add", "--base-url", base_url,
                 "--name", "Local", "--data-dir", str(data)],
                cwd=ROOT, env=env, check=True, capture_output=True,
            )  # fmt: skip
            cli_first_token_s(data, env)  # warm-up: caches, the model list
            gui_startup_s(data, env)
            cli, gui, ttft = [], [], []
            for _ in range(RUNS):
                cli.append(cli_first_token_s(data, env))
                gui.append(gui_startup_s(data, env))
                ttft.append(provider_ttft_s(base_url))
    finally:
        server.kill()
    cli_s, gui_s, ttft_s = (statistics.median(v) for v in (cli, gui, ttft))
    ratio = cli_s / (gui_s + ttft_s)
    print(f"palaver ask first token {cli_s * 1000:.0f} ms; GUI start-up {gui_s * 1000:.0f} ms;"
          f" provider first token {ttft_s * 1000:.0f} ms; ratio {ratio:.2f} (goal <= 1.5)")  # fmt: skip
    print(
        json.dumps(
            {
                "cli_first_token_ratio": round(ratio, 2),
                "cli_first_token_ms": round(cli_s * 1000),
                "gui_startup_ms": round(gui_s * 1000),
                "provider_ttft_ms": round(ttft_s * 1000, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
