"""Self-check of a frozen Palaver bundle: everything the app loads lazily or by name works.

``--smoke-test`` only proves the window opens; the audio stack, keyring backends, Pygments
lexers and Markdown extensions load later, by name, and a bundle can miss or break them
unnoticed (a stripped OpenBLAS once broke ``import numpy`` while the smoke test passed).
``PALAVER_BUNDLE_CHECK=1 pyinstaller pyinstaller.spec`` adds this script to the bundle as
``palaver-bundle-check``; ``packaging/build.sh --smoke`` builds it, runs it and removes it.
Prints one line per check and exits 1 if any failed.
"""

from __future__ import annotations

import importlib
import io
import os
import pkgutil
import sys
import traceback
from collections.abc import Callable

CHECKS: list[tuple[str, Callable[[], object]]] = []


def check(func: Callable[[], object]) -> Callable[[], object]:
    CHECKS.append((func.__name__, func))
    return func


@check
def app_modules() -> object:
    """Every module of the app imports (catches hidden imports the analysis missed)."""
    import app

    names = [m.name for m in pkgutil.walk_packages(app.__path__, "app.")]
    for name in names:
        if name != "app.__main__":
            importlib.import_module(name)
    return f"{len(names)} modules"


@check
def version_and_resources() -> object:
    from app import __version__
    from app.paths import resource_path

    assert __version__ != "0.0.0+source", "palaver's metadata is missing"
    icon = resource_path("icons", "palaver.svg")
    assert icon.is_file(), icon
    return f"{__version__}, {len(list(resource_path().rglob('*')))} resource files"


@check
def numpy_and_audio_files() -> object:
    import numpy as np
    import soundfile as sf

    tone = np.sin(np.linspace(0, 440 * 2 * np.pi, 16000)).astype("float32")
    assert np.fft.rfft(tone).shape == (8001,) and float(np.linalg.det(np.eye(3))) == 1.0
    buffer = io.BytesIO()
    sf.write(buffer, tone, 16000, format="FLAC")
    buffer.seek(0)
    data, rate = sf.read(buffer, dtype="float32")
    assert rate == 16000 and len(data) == len(tone)
    return f"numpy {np.__version__}, libsndfile {sf.__libsndfile_version__}"


@check
def portaudio() -> object:
    import sounddevice as sd

    return sd.get_portaudio_version()[1]


@check
def keyring_backends() -> object:
    import keyring.backend

    # The OS backends import even where they are not usable (SecretService needs
    # secretstorage, jeepney and cryptography on Linux); then list the usable ones.
    for name in ("SecretService", "Windows", "macOS", "kwallet", "libsecret", "chainer", "fail"):
        importlib.import_module(f"keyring.backends.{name}")
    if sys.platform.startswith("linux"):
        importlib.import_module("secretstorage")  # the Secret Service backend's own imports
    usable = sorted(
        type(b).__module__.rsplit(".", 1)[-1] for b in keyring.backend.get_all_keyring()
    )
    return "usable here: " + ", ".join(usable)


@check
def highlighting_and_markdown() -> object:
    import markdown
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.styles import get_all_styles

    for name in ("python", "javascript", "typescript", "rust", "go", "bash", "sql", "json", "c++"):
        highlight("x = 1", get_lexer_by_name(name), HtmlFormatter(noclasses=True))
    html = markdown.Markdown(extensions=["fenced_code", "tables", "sane_lists", "toc"]).convert(
        "| a |\n|---|\n| 1 |\n\n```py\nx = 1\n```"
    )
    assert "<table>" in html and "<code" in html
    return f"{len(list(get_all_styles()))} styles"


@check
def network_and_models() -> object:
    import httpx
    import orjson
    import pydantic

    class Probe(pydantic.BaseModel):
        value: int

    assert Probe.model_validate_json(orjson.dumps({"value": 1})).value == 1
    httpx.Client().close()  # certifi's CA bundle is found
    return f"httpx {httpx.__version__}, pydantic {pydantic.VERSION}"


@check
def qt_widgets_and_icons() -> object:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    from app.paths import resource_path

    _qt_app = QApplication.instance() or QApplication(sys.argv[:1])
    icon = QIcon(str(resource_path("icons", "palaver.svg")))
    assert not icon.pixmap(64, 64).isNull(), "SVG icon engine/image plugin missing"
    loaded = sorted(m.removeprefix("PySide6.") for m in sys.modules if m.startswith("PySide6.Qt"))
    return f"{QGuiApplication.platformName()}: {', '.join(loaded)}"


def main() -> int:
    failed = 0
    for name, func in CHECKS:
        try:
            print(f"ok   {name}: {func()}")
        except Exception:  # report every failure, then fail
            failed += 1
            print(f"FAIL {name}:\n{traceback.format_exc()}")
    print(f"{len(CHECKS) - failed}/{len(CHECKS)} bundle checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
