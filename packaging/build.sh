#!/usr/bin/env bash
# Build Palaver's double-click app for the OS this runs on (one-folder PyInstaller bundle):
#   bash packaging/build.sh            # -> dist/Palaver/ (Linux, Windows) or dist/Palaver.app (macOS)
#   bash packaging/build.sh --smoke    # ... then start it offscreen with --smoke-test (exit 0)
#                                      # and run packaging/bundle_check.py inside the bundle
# Installs the app and its `build` extra (PyInstaller) into .venv first; re-running is cheap.
# Installers on top of this: packaging/linux/build-appimage.sh, packaging/windows/build-installer.ps1,
# packaging/macos/build-dmg.sh. On Windows run it from Git Bash (or use build-installer.ps1).
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 64 ;;
  esac
done

if [ -x .venv/Scripts/python.exe ]; then
  py=.venv/Scripts/python.exe
else
  [ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
  py=.venv/bin/python
fi
"$py" -m pip install -q --disable-pip-version-check -e '.[build]'

started=$(date +%s)
rm -rf build/pyinstaller dist/Palaver dist/Palaver.app
# --smoke also bundles packaging/bundle_check.py as a second executable, run below.
PALAVER_BUNDLE_CHECK=$smoke "$py" -m PyInstaller --noconfirm --clean --log-level WARN \
  --workpath build/pyinstaller --distpath dist pyinstaller.spec
echo "built in $(($(date +%s) - started)) s"

case "$(uname -s)" in
  Darwin) bundle=dist/Palaver.app; exe=dist/Palaver.app/Contents/MacOS/Palaver ;;
  MINGW* | MSYS* | CYGWIN*) bundle=dist/Palaver; exe=dist/Palaver/Palaver.exe ;;
  *) bundle=dist/Palaver; exe=dist/Palaver/Palaver ;;
esac

if [ "$smoke" = 1 ]; then
  data_dir=$(mktemp -d)
  trap 'rm -rf "$data_dir"' EXIT
  # The bundle must carry its resources and its own version metadata.
  internal="$bundle/_internal"
  [ -d "$bundle/Contents" ] && internal="$bundle/Contents/Resources"
  test -f "$internal/resources/icons/palaver.svg" || { echo "resources/ missing from the bundle" >&2; exit 1; }
  test -f "$internal/THIRD-PARTY-NOTICES.txt" || { echo "third-party notices missing from the bundle" >&2; exit 1; }
  QT_QPA_PLATFORM=offscreen "$exe" --smoke-test --data-dir "$data_dir"
  echo "smoke test: exit 0"
  # What loads lazily or by name (audio, keyring, lexers, every app module), then remove
  # the checker so the bundle is the one users get.
  checker=$(dirname "$exe")/palaver-bundle-check
  [ -f "$checker.exe" ] && checker=$checker.exe
  QT_QPA_PLATFORM=offscreen HOME="$data_dir" "$checker"
  rm -f "$checker"
fi
echo "bundle: $bundle ($(du -sh "$bundle" | cut -f1))"
