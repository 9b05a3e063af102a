#!/usr/bin/env bash
# Palaver as one AppImage file (double-click to run on most Linux desktops):
#   bash packaging/linux/build-appimage.sh        # -> dist/Palaver-<version>-<arch>.AppImage
# Builds the one-folder bundle (packaging/build.sh) unless --no-build is given, lays out an
# AppDir around it, and packs it with appimagetool: $APPIMAGETOOL, else `appimagetool` on
# PATH, else the official release downloaded once into build/. Works without FUSE
# (APPIMAGE_EXTRACT_AND_RUN=1). Build on the oldest distribution you support: the bundle
# uses the build machine's glibc.
set -euo pipefail
cd "$(dirname "$0")/../.."

APP_ID=org.palaver.Palaver
build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 64 ;;
  esac
done

[ "$build" = 1 ] && bash packaging/build.sh
test -x dist/Palaver/Palaver || { echo "dist/Palaver/Palaver missing: run packaging/build.sh" >&2; exit 1; }

arch=$(uname -m)
version=$(.venv/bin/python -c 'from importlib.metadata import version; print(version("palaver"))')
appdir=build/AppDir
rm -rf "$appdir"
mkdir -p "$appdir/usr/bin" "$appdir/usr/lib" "$appdir/usr/share/applications" \
  "$appdir/usr/share/metainfo" "$appdir/usr/share/icons/hicolor/scalable/apps"

# The app itself, and the launcher AppImage runs.
cp -a dist/Palaver "$appdir/usr/lib/palaver"
ln -s ../lib/palaver/Palaver "$appdir/usr/bin/palaver"
cat >"$appdir/AppRun" <<'EOF'
#!/bin/sh
# AppImage entry point: start the bundled Palaver with the arguments given.
HERE=$(dirname "$(readlink -f "$0")")
exec "$HERE/usr/lib/palaver/Palaver" "$@"
EOF
chmod +x "$appdir/AppRun"

# Desktop integration: entry, icons (hicolor theme + the AppDir's top-level icon), metainfo.
cp packaging/linux/$APP_ID.desktop "$appdir/$APP_ID.desktop"
cp packaging/linux/$APP_ID.desktop "$appdir/usr/share/applications/"
cp packaging/linux/$APP_ID.metainfo.xml "$appdir/usr/share/metainfo/$APP_ID.appdata.xml"
for size in 16 24 32 48 64 128 256 512; do
  dir="$appdir/usr/share/icons/hicolor/${size}x${size}/apps"
  mkdir -p "$dir"
  cp "resources/icons/palaver-$size.png" "$dir/$APP_ID.png"
done
cp resources/icons/palaver.svg "$appdir/usr/share/icons/hicolor/scalable/apps/$APP_ID.svg"
cp resources/icons/palaver-256.png "$appdir/$APP_ID.png"
ln -s "$APP_ID.png" "$appdir/.DirIcon"

# appimagetool: given, installed, or the official continuous release.
tool=${APPIMAGETOOL:-$(command -v appimagetool || true)}
if [ -z "$tool" ]; then
  tool=build/appimagetool-$arch.AppImage
  if [ ! -x "$tool" ]; then
    url=https://github.com/AppImage/appimagetool/releases/download/continuous/appimagetool-$arch.AppImage
    echo "downloading appimagetool from $url" >&2
    curl -fL --retry 3 -o "$tool.part" "$url"
    chmod +x "$tool.part"
    mv "$tool.part" "$tool"
  fi
fi

out=dist/Palaver-$version-$arch.AppImage
rm -f "$out"
ARCH=$arch APPIMAGE_EXTRACT_AND_RUN=1 "$tool" "$appdir" "$out"
echo "AppImage: $out ($(du -h "$out" | cut -f1))"
