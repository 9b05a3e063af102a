"""The UI icon set: every name ships, renders, takes the colour asked for, at 1x and 2x."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QImage, QPalette

from app.paths import resource_path
from app.ui import icons

NAMES = [
    *("new-chat", "attach", "microphone", "send", "stop", "copy", "regenerate", "edit"),
    *("delete", "read-aloud", "settings", "providers", "chat", "compare", "images"),
    *("speech", "transcribe", "usage", "search", "sidebar", "pin", "more", "check", "close"),
    *("chevron-down", "chevron-left", "chevron-right", "wrap", "model", "branch", "play"),
    *("pause", "download", "upload", "history", "prompts", "plus", "info", "warning"),
    *("error", "sun", "moon", "keyboard", "star", "globe"),
]


def opaque_colours(image: QImage) -> list[QColor]:
    """The colours of the pixels that are (nearly) opaque."""
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    pixels = (image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height()))
    return [c for c in pixels if c.alpha() > 200]


def assert_all_close(colours: list[QColor], expected: str, tolerance: int = 8) -> None:
    want = QColor(expected)
    assert colours, "no opaque pixels"
    for c in colours:
        diffs = (c.red() - want.red(), c.green() - want.green(), c.blue() - want.blue())
        assert max(map(abs, diffs)) <= tolerance, (c.name(), expected)


def test_every_listed_name_ships_and_renders(qapp) -> None:  # type: ignore[no-untyped-def]
    assert set(NAMES) <= set(icons.names())
    for name in NAMES:
        assert resource_path("icons", "ui", f"{name}.svg").is_file(), name
        pixmap = icons.tinted(name, "#202020", 16).pixmap(QSize(16, 16))
        assert not pixmap.isNull(), name
        assert opaque_colours(pixmap.toImage()), f"{name} renders blank"


@pytest.mark.parametrize("name", ["stop", "attach", "settings", "warning"])
@pytest.mark.parametrize("colour", ["#ff0000", "#1a7f37"])
def test_tinted_pixels_are_the_colour_asked_for(qapp, name: str, colour: str) -> None:  # type: ignore[no-untyped-def]
    image = icons.tinted(name, colour, 32).pixmap(QSize(32, 32), 1.0).toImage()
    assert image.width() == 32
    assert_all_close(opaque_colours(image), colour)


def test_a_2x_pixmap_is_rendered_not_scaled_up(qapp) -> None:  # type: ignore[no-untyped-def]
    pixmap = icons.tinted("send", "#ff0000", 16).pixmap(QSize(16, 16), 2.0)
    assert pixmap.devicePixelRatio() == 2.0
    assert (pixmap.width(), pixmap.height()) == (32, 32)
    direct = icons.tinted("send", "#ff0000", 32).pixmap(QSize(32, 32), 1.0).toImage()
    converted = pixmap.toImage().convertToFormat(direct.format())
    converted.setDevicePixelRatio(1.0)
    assert converted == direct  # the same drawing as a 32 px icon, not a blown-up 16 px one


def test_disabled_is_fainter_and_cached_icons_are_shared(qapp) -> None:  # type: ignore[no-untyped-def]
    icon = icons.tinted("copy", "#ff0000", 32)
    normal = icon.pixmap(QSize(32, 32), 1.0, QIcon.Mode.Normal).toImage()
    disabled = icon.pixmap(QSize(32, 32), 1.0, QIcon.Mode.Disabled).toImage()
    assert opaque_colours(normal) and not opaque_colours(disabled)
    assert icons.tinted("copy", "#ff0000", 32).cacheKey() == icon.cacheKey()


def test_unknown_names_and_bad_colours_raise(qapp) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(KeyError, match="no-such-icon"):
        icons.tinted("no-such-icon", "#ff0000")
    with pytest.raises(KeyError, match="no-such-icon"):
        icons.icon("no-such-icon", "edit-delete")
    with pytest.raises(KeyError):
        icons.tinted("../ui/send", "#ff0000")
    with pytest.raises(ValueError, match="not a colour"):
        icons.tinted("send", "reddish")


def test_icon_draws_in_the_palettes_text_colour(qapp) -> None:  # type: ignore[no-untyped-def]
    old = QGuiApplication.palette()
    palette = QPalette(old)
    palette.setColor(QPalette.ColorRole.ButtonText, QColor("#0055ff"))
    QGuiApplication.setPalette(palette)
    try:
        for name, theme_name in (("attach", "mail-attachment"), ("voice", "")):
            icon = icons.icon(name, theme_name)
            assert_all_close(opaque_colours(icon.pixmap(QSize(32, 32)).toImage()), "#0055ff")
            assert icon.pixmap(QSize(16, 16), 2.0).size() == QSize(32, 32)
    finally:
        QGuiApplication.setPalette(old)


def test_icon_loads_qtsvg_only_when_painted() -> None:
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication, QToolButton\n"
        "from app.ui.icons import icon\n"
        "app = QApplication([])\n"
        "button = QToolButton()\n"
        "button.setIcon(icon('attach', 'mail-attachment'))\n"
        "button.sizeHint()\n"
        "assert 'PySide6.QtSvg' not in sys.modules, 'imported before painting'\n"
        "button.grab()\n"
        "assert 'PySide6.QtSvg' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_the_icon_sets_licence_ships() -> None:
    text = resource_path("icons", "ui", "LICENSE").read_text(encoding="utf-8")
    assert "ISC License" in text
    assert "Lucide" in text and "Copyright" in text
