#!/usr/bin/env bash
# Install the one-folder bundle (dist/Palaver) for this user, with a menu entry and icons:
#   bash packaging/linux/install.sh               # -> ~/.local/lib/palaver, ~/.local/bin/palaver
#   bash packaging/linux/install.sh --uninstall   # removes them again (your history stays)
# PREFIX=/usr/local (as root) installs for every user instead. Build first with
# packaging/build.sh, or use the AppImage (packaging/linux/build-appimage.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

APP_ID=org.palaver.Palaver
prefix=${PREFIX:-$HOME/.local}
lib=$prefix/lib/palaver
share=$prefix/share

if [ "${1:-}" = --uninstall ]; then
  rm -rf "$lib" "$prefix/bin/palaver" "$share/applications/$APP_ID.desktop" \
    "$share/metainfo/$APP_ID.metainfo.xml" "$share/icons/hicolor/scalable/apps/$APP_ID.svg"
  rm -f "$share"/icons/hicolor/*/apps/$APP_ID.png
  echo "Palaver removed from $prefix (your data is still in ~/.local/share/Palaver)"
  exit 0
fi

test -x dist/Palaver/Palaver || { echo "dist/Palaver missing: run bash packaging/build.sh" >&2; exit 1; }
rm -rf "$lib"
mkdir -p "$prefix/lib" "$prefix/bin" "$share/applications" "$share/metainfo" \
  "$share/icons/hicolor/scalable/apps"
cp -a dist/Palaver "$lib"
ln -sf "$lib/Palaver" "$prefix/bin/palaver"
# The entry starts the installed binary by its full path (~/.local/bin may not be on PATH).
sed -e "s|^Exec=palaver|Exec=$lib/Palaver|" -e "s|^TryExec=palaver|TryExec=$lib/Palaver|" \
  packaging/linux/$APP_ID.desktop >"$share/applications/$APP_ID.desktop"
cp packaging/linux/$APP_ID.metainfo.xml "$share/metainfo/"
for size in 16 24 32 48 64 128 256 512; do
  mkdir -p "$share/icons/hicolor/${size}x${size}/apps"
  cp "resources/icons/palaver-$size.png" "$share/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
done
cp resources/icons/palaver.svg "$share/icons/hicolor/scalable/apps/$APP_ID.svg"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$share/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$share/icons/hicolor" || true
echo "Palaver installed in $lib; it is in your applications menu"
