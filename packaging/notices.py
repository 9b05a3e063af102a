"""Third-party notices for a frozen Palaver: who wrote what the bundle carries, under which licence.

``pyinstaller.spec`` calls :func:`write_notices` with the import names PyInstaller collected;
this maps them to their installed distributions (``importlib.metadata``), and writes one
text file with, for each distribution, its name, version, licence, home page and the full
text of every licence file it ships. Python's own licence, the Qt / Qt for Python LGPL
statement and the native libraries copied from the build machine are added at the end.
The file lands at the top of the bundle as ``THIRD-PARTY-NOTICES.txt``.

Run it alone to preview what a build would write for the current environment:

    python packaging/notices.py [OUT] [import names...]
"""

from __future__ import annotations

import sys
import sysconfig
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

# Distributions that are build or test tools, never part of the app even if PyInstaller saw them.
NOT_BUNDLED = {
    "pyinstaller",
    "pyinstaller-hooks-contrib",
    "altgraph",
    "pip",
    "setuptools",
    "palaver",
}
LICENSE_FILE_PREFIXES = ("license", "licence", "copying", "notice", "authors")

QT_NOTICE = """\
Qt and Qt for Python (PySide6, shiboken6)
-----------------------------------------
This bundle contains the Qt libraries and Qt for Python, used under the GNU Lesser General
Public License version 3 (LGPL-3.0-only). Copyright (C) The Qt Company Ltd. and other
contributors.

The Qt libraries are dynamically linked: they are the separate shared library files in this
folder (PySide6/Qt/lib, PySide6/Qt/plugins; on macOS inside Contents/Frameworks). You may
replace them with your own build of the same Qt version, compatible with the one shipped,
and Palaver will use it. The source code of Qt is available at https://code.qt.io/ and
https://download.qt.io/official_releases/qt/ ; Qt for Python at
https://code.qt.io/cgit/pyside/pyside-setup.git/ . Palaver's own source is available
from its repository, so you can rebuild this bundle with a modified Qt.
"""


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def distributions_for(import_names: Iterable[str]) -> list[metadata.Distribution]:
    """The installed distributions that provide these top-level import names, sorted by name."""
    providers = metadata.packages_distributions()
    wanted: set[str] = set()
    for name in import_names:
        top = name.split(".", 1)[0]
        wanted.update(_normalise(d) for d in providers.get(top, ()))
    found: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():
        key = _normalise(_field(dist, "Name"))
        if key in wanted and key not in NOT_BUNDLED and key not in found:
            found[key] = dist
    return [found[k] for k in sorted(found)]


def _field(dist: metadata.Distribution, name: str) -> str:
    values = dist.metadata.get_all(name) or []
    return str(values[0]).strip() if values else ""


def _licence_of(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    expression = _field(dist, "License-Expression")
    if expression:
        return expression
    licence = _field(dist, "License")
    if licence and len(licence) < 200:
        return licence
    classifiers = [
        c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")
    ]
    return ", ".join(classifiers) or (licence.splitlines()[0] if licence else "see below")


def _home_of(dist: metadata.Distribution) -> str:
    if _field(dist, "Home-page"):
        return _field(dist, "Home-page")
    for url in dist.metadata.get_all("Project-URL") or []:
        label, _, link = url.partition(",")
        if label.strip().lower() in {"homepage", "home", "source", "repository", "source code"}:
            return link.strip()
    return ""


def _licence_texts(dist: metadata.Distribution) -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    for file in dist.files or ():
        name = file.name.lower()
        in_licence_dir = "licenses" in file.parts or "licences" in file.parts
        # dist-info/LICENSE, or a licence at the top of a package (e.g. a bundled C library's).
        shallow = file.parts[0].endswith(".dist-info") or len(file.parts) == 2
        if not (in_licence_dir or (shallow and name.startswith(LICENSE_FILE_PREFIXES))):
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if text and text.strip():
            texts.append((str(file), text.strip()))
    return texts


def _gnu_licence_texts() -> list[str]:
    """The LGPL-3.0 and GPL-3.0 texts, from the build system's licence collection if present."""
    texts = []
    for name in ("LGPL-3", "GPL-3"):
        path = Path("/usr/share/common-licenses") / name
        if path.is_file():
            texts.append(f"[{name}]\n" + path.read_text(encoding="utf-8").strip())
    return texts or [
        "LGPL-3.0: https://www.gnu.org/licenses/lgpl-3.0.txt (with GPL-3.0: https://www.gnu.org/licenses/gpl-3.0.txt)"
    ]


def _python_licence() -> str:
    path = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return (
            "Python Software Foundation License Version 2 (https://docs.python.org/3/license.html)"
        )


def render_notices(
    import_names: Iterable[str], native_libraries: Iterable[str] = (), app_version: str = ""
) -> str:
    """The whole notices text for a bundle that holds these Python packages and native libraries."""
    dists = distributions_for(import_names)
    out = [
        "Palaver " + app_version,
        "Third-party software included in this bundle",
        "=" * 46,
        "",
        "Palaver is MIT licensed. It bundles the components below, each under its own licence.",
        "",
    ]
    out.append("Summary")
    out.append("-------")
    out.append(f"- Python {sys.version.split()[0]}: Python Software Foundation License")
    out.extend(f"- {d.metadata['Name']} {d.version}: {_licence_of(d)}" for d in dists)
    out += ["", QT_NOTICE, *_gnu_licence_texts(), ""]
    for dist in dists:
        title = f"{dist.metadata['Name']} {dist.version}"
        out += [title, "-" * len(title), f"Licence: {_licence_of(dist)}"]
        home = _home_of(dist)
        if home:
            out.append(f"Home: {home}")
        for path, text in _licence_texts(dist):
            out += ["", f"[{path}]", text]
        out.append("")
    out += ["Python", "------", _python_licence(), ""]
    libs = sorted(set(native_libraries))
    if libs:
        out += [
            "Native libraries copied from the build system",
            "---------------------------------------------",
            "These shared libraries were collected from the build machine because the",
            "components above link to them; each keeps the licence of its project",
            "(e.g. PortAudio: MIT; libsndfile: LGPL-2.1, dynamically linked; OpenBLAS: BSD).",
            "",
            *libs,
            "",
        ]
    return "\n".join(out)


def write_notices(
    out: Path,
    import_names: Iterable[str],
    native_libraries: Iterable[str] = (),
    app_version: str = "",
) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_notices(import_names, native_libraries, app_version), encoding="utf-8")
    return out


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("THIRD-PARTY-NOTICES.txt")
    names = argv[1:] or [
        "PySide6",
        "shiboken6",
        "httpx",
        "qasync",
        "pydantic",
        "markdown",
        "pygments",
        "keyring",
        "sounddevice",
        "soundfile",
        "numpy",
        "orjson",
        "platformdirs",
    ]
    write_notices(out, names)
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
