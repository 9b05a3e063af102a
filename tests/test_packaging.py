"""Fast checks of the packaging inputs: the PyInstaller spec, desktop files, plists, icons.

Building the bundle is a CI step (``packaging/build.sh --smoke``), not a test: these only
evaluate the spec's data half for each platform and validate the files the build uses.
"""

from __future__ import annotations

import importlib.util
import plistlib
import re
import shutil
import struct
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "pyinstaller.spec"
ICONS = ROOT / "resources" / "icons"
LINUX = ROOT / "packaging" / "linux"
MACOS = ROOT / "packaging" / "macos"
WINDOWS = ROOT / "packaging" / "windows"
APP_ID = "org.palaver.Palaver"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def evaluate_spec(target: str) -> dict[str, Any]:
    """Run the spec as PyInstaller would, minus the build (no ``Analysis`` in its globals)."""
    namespace: dict[str, Any] = {
        "SPECPATH": str(ROOT),
        "PALAVER_TARGET": target,
        "__name__": "__main__",
        "__file__": str(SPEC),
    }
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)
    return namespace


@pytest.fixture(scope="module", params=["linux", "win32", "darwin"])
def spec(request: pytest.FixtureRequest) -> dict[str, Any]:
    return evaluate_spec(request.param)


def test_spec_names_the_app_and_reads_the_package_version(spec: dict[str, Any]) -> None:
    assert spec["APP_NAME"] == "Palaver"
    assert spec["APP_ID"] == APP_ID
    assert spec["VERSION"] == version("palaver")


def test_spec_bundles_resources_and_the_metadata_read_at_runtime(spec: dict[str, Any]) -> None:
    sources = {Path(src) for src, _dest in spec["DATAS"]}
    assert ROOT / "resources" in sources
    for src, _dest in spec["DATAS"]:
        assert Path(src).exists(), src
    assert "palaver" in spec["METADATA"]  # app.__version__ reads it
    assert "app" in spec["DYNAMIC_PACKAGES"]
    for dynamic in (
        "pygments.lexers",
        "pygments.styles",
        "markdown.extensions",
        "keyring.backends",
    ):
        assert dynamic in spec["DYNAMIC_PACKAGES"]


def test_spec_does_not_exclude_any_qt_module_the_app_imports(spec: dict[str, Any]) -> None:
    imported: set[str] = set()
    for path in (ROOT / "app").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        imported |= set(re.findall(r"(?:from|import)\s+PySide6\.(Qt\w+)", text))
        for names in re.findall(r"from\s+PySide6\s+import\s+\(?([\w\s,]+)\)?", text):
            imported |= {n.strip() for n in names.split(",") if n.strip().startswith("Qt")}
    assert "QtWidgets" in imported
    excluded = {name.removeprefix("PySide6.") for name in spec["EXCLUDES"]}
    assert imported.isdisjoint(excluded), imported & excluded
    keep = spec["keep_file"]
    for module in imported:  # nor drop their libraries
        assert keep(f"PySide6/Qt/lib/lib{module.replace('Qt', 'Qt6', 1)}.so.6")
        assert keep(f"PySide6/{module.replace('Qt', 'Qt6', 1)}.dll")
        assert keep(f"PySide6/Qt/lib/{module}.framework/Versions/A/{module}")


def test_linux_keeps_only_the_xcb_and_offscreen_platforms() -> None:
    keep = evaluate_spec("linux")["keep_file"]
    plugins = "PySide6/Qt/plugins"
    assert keep(f"{plugins}/platforms/libqxcb.so")
    assert keep(f"{plugins}/platforms/libqoffscreen.so")
    assert keep(f"{plugins}/xcbglintegrations/libqxcb-glx-integration.so")
    assert keep(f"{plugins}/imageformats/libqsvg.so")
    assert keep(f"{plugins}/iconengines/libqsvgicon.so")
    assert keep(f"{plugins}/platforminputcontexts/libibusplatforminputcontextplugin.so")
    for dropped in (
        "platforms/libqwayland.so",
        "platforms/libqeglfs.so",
        "platforms/libqvnc.so",
        "platforms/libqlinuxfb.so",
        "wayland-shell-integration/libxdg-shell.so",
        "platformthemes/libqgtk3.so",
        "imageformats/libqpdf.so",
        "platforminputcontexts/libqtvirtualkeyboardplugin.so",
    ):
        assert not keep(f"{plugins}/{dropped}"), dropped
    for lib in ("Quick", "Qml", "Pdf", "WebEngineCore", "WaylandClient", "3DCore"):
        assert not keep(f"PySide6/Qt/lib/libQt6{lib}.so.6"), lib
    for lib in ("Core", "Gui", "Widgets", "XcbQpa", "DBus", "Svg", "Network"):
        assert keep(f"PySide6/Qt/lib/libQt6{lib}.so.6"), lib
    assert not keep("PySide6/Qt/translations/qtbase_de.qm")
    assert keep("resources/icons/palaver.svg")


def test_windows_and_macos_keep_their_platform_plugin() -> None:
    win = evaluate_spec("win32")["keep_file"]
    assert win("PySide6\\plugins\\platforms\\qwindows.dll")
    assert not win("PySide6\\plugins\\platforms\\qdirect2d.dll")
    assert not win("PySide6\\opengl32sw.dll")
    assert not win("PySide6\\Qt6Quick.dll")
    assert win("PySide6\\Qt6Widgets.dll")
    mac = evaluate_spec("darwin")["keep_file"]
    assert mac("PySide6/Qt/plugins/platforms/libqcocoa.dylib")
    assert not mac("PySide6/Qt/lib/QtQuick.framework/Versions/A/QtQuick")
    assert mac("PySide6/Qt/lib/QtWidgets.framework/Versions/A/QtWidgets")


def test_windows_version_resource_is_a_valid_expression(tmp_path: Path) -> None:
    spec = evaluate_spec("win32")
    text = spec["windows_version_file"](tmp_path / "version_info.txt").read_text(encoding="utf-8")

    def record(**kwargs: Any) -> dict[str, Any]:
        return kwargs

    def items(*args: Any) -> tuple[Any, ...]:
        return args

    names = {
        "VSVersionInfo": record,
        "FixedFileInfo": record,
        "StringFileInfo": items,
        "StringTable": items,
        "StringStruct": items,
        "VarFileInfo": items,
        "VarStruct": items,
    }
    info = eval(text, names)
    assert info["ffi"]["filevers"] == spec["version_tuple"](spec["VERSION"])
    assert len(info["ffi"]["filevers"]) == 4
    assert spec["version_tuple"]("1.2rc3+local") == (1, 2, 3, 0)
    assert "ProductName" in text and "Palaver.exe" in text


def test_info_plist_asks_for_the_microphone_and_supports_high_dpi() -> None:
    plist = evaluate_spec("darwin")["info_plist"]()
    assert plist["NSMicrophoneUsageDescription"].strip()
    assert plist["NSHighResolutionCapable"] is True
    assert plist["CFBundleIdentifier"] == APP_ID
    assert plist["CFBundleShortVersionString"] == version("palaver")


def test_entitlements_allow_the_microphone_under_the_hardened_runtime() -> None:
    with (MACOS / "entitlements.plist").open("rb") as f:
        entitlements = plistlib.load(f)
    for key in (
        "com.apple.security.device.audio-input",
        "com.apple.security.cs.allow-jit",
        "com.apple.security.cs.allow-unsigned-executable-memory",
        "com.apple.security.cs.disable-library-validation",
    ):
        assert entitlements.get(key) is True, key


def test_desktop_entry_is_valid() -> None:
    desktop = LINUX / f"{APP_ID}.desktop"
    fields = dict(
        line.split("=", 1)
        for line in desktop.read_text(encoding="utf-8").splitlines()
        if "=" in line
    )
    assert fields["Name"] == "Palaver"
    assert fields["Icon"] == APP_ID
    assert fields["Exec"].split()[0] == "palaver"
    assert fields["Terminal"] == "false"
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate not installed (apt install desktop-file-utils)")
    result = subprocess.run([validator, str(desktop)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_metainfo_names_the_desktop_entry() -> None:
    import xml.etree.ElementTree as ET

    root = ET.parse(LINUX / f"{APP_ID}.metainfo.xml").getroot()
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == f"{APP_ID}.desktop"  # type: ignore[union-attr]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_icons_exist_at_every_size() -> None:
    assert (ICONS / "palaver.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    for size in PNG_SIZES:
        data = (ICONS / f"palaver-{size}.png").read_bytes()
        assert _png_size(data) == (size, size)
        assert len(data) < 64_000
    ico = (ICONS / "palaver.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind) == (0, 1) and count >= 6
    sizes = {ico[6 + 16 * i] or 256 for i in range(count)}
    assert {16, 32, 48, 256} <= sizes
    icns = (ICONS / "palaver.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    kinds, offset = set(), 8
    while offset < len(icns):
        kinds.add(icns[offset : offset + 4])
        offset += struct.unpack(">I", icns[offset + 4 : offset + 8])[0]
    assert {b"icp4", b"icp5", b"ic07", b"ic08", b"ic09", b"ic14"} <= kinds


def test_notices_carry_licences_and_the_qt_lgpl_statement() -> None:
    loader = importlib.util.spec_from_file_location("notices", ROOT / "packaging" / "notices.py")
    assert loader is not None and loader.loader is not None
    notices = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(notices)
    text = notices.render_notices(["httpx", "PySide6"], ["libportaudio.so.2"], "9.9")
    assert "httpx" in text and "BSD" in text
    assert "LGPL" in text and "dynamically linked" in text
    assert "libportaudio.so.2" in text
    assert "Python Software Foundation" in text or "PSF" in text


@pytest.mark.parametrize(
    "script",
    ["build.sh", "linux/build-appimage.sh", "linux/install.sh", "macos/build-dmg.sh"],
)
def test_build_scripts_parse(script: str) -> None:
    result = subprocess.run(
        ["bash", "-n", str(ROOT / "packaging" / script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_inno_setup_script_installs_the_bundle() -> None:
    iss = (WINDOWS / "palaver.iss").read_text(encoding="utf-8")
    assert r"dist\Palaver\*" in iss
    assert r"resources\icons\palaver.ico" in iss
    assert re.search(r"AppId=\{\{[0-9A-F-]{36}\}", iss)
