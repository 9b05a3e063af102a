"""Render Palaver's app icon from its SVG source into every format the platforms want.

    python packaging/make_icons.py

reads ``resources/icons/palaver.svg`` and writes, next to it:

- ``palaver-<N>.png`` for N in 16, 24, 32, 48, 64, 128, 256, 512 (Linux hicolor theme,
  the window icon, the AppImage);
- ``palaver.ico`` (Windows: 16-256 px, PNG-compressed entries, Vista and later);
- ``palaver.icns`` (macOS: 16-512 px and their @2x variants, PNG-compressed entries).

The outputs are committed (they are source-like assets); run this again after editing the
SVG. Uses Qt's SVG renderer, so it needs nothing beyond the app's own dependencies.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

ICON_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"
SOURCE = ICON_DIR / "palaver.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types holding PNG data, by pixel size (Apple's icns type codes).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic11", 32),  # 16@2x
    (b"ic12", 64),  # 32@2x
    (b"ic13", 256),  # 128@2x
    (b"ic14", 512),  # 256@2x
)


def render_png(svg: Path, size: int) -> bytes:
    """The SVG rendered at ``size`` x ``size`` pixels, antialiased, as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"cannot parse {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.convertToFormat(QImage.Format.Format_ARGB32).save(buffer, "PNG")  # type: ignore[call-overload]
    buffer.close()
    return bytes(data.data())


def build_ico(pngs: dict[int, bytes]) -> bytes:
    """An ICO file whose entries are PNG images (ICONDIR + ICONDIRENTRY table + data)."""
    sizes = [s for s in ICO_SIZES if s in pngs]
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        blob = pngs[size]
        dim = 0 if size >= 256 else size  # 0 means 256 in ICO
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset)
        blobs += blob
        offset += len(blob)
    return header + entries + blobs


def build_icns(pngs: dict[int, bytes]) -> bytes:
    """An ICNS file: 'icns' + total length, then (type, length, PNG data) elements."""
    body = b"".join(
        kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for kind, size in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    pngs = {size: render_png(SOURCE, size) for size in PNG_SIZES}
    for size, blob in pngs.items():
        (ICON_DIR / f"palaver-{size}.png").write_bytes(blob)
    (ICON_DIR / "palaver.ico").write_bytes(build_ico(pngs))
    (ICON_DIR / "palaver.icns").write_bytes(build_icns(pngs))
    total = sum(p.stat().st_size for p in ICON_DIR.iterdir())
    print(f"wrote {len(pngs)} PNGs, palaver.ico, palaver.icns to {ICON_DIR} ({total // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
