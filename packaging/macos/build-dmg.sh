#!/usr/bin/env bash
# Palaver for macOS as a drag-to-Applications disk image:
#   bash packaging/macos/build-dmg.sh [--no-build]     # -> dist/Palaver-<version>-<arch>.dmg
# Builds dist/Palaver.app (packaging/build.sh) unless --no-build is given, signs it when
# PALAVER_CODESIGN_IDENTITY is set ("Developer ID Application: ..."; hardened runtime with
# packaging/macos/entitlements.plist), makes the dmg with hdiutil, and notarizes + staples
# it when PALAVER_NOTARY_PROFILE names a `xcrun notarytool store-credentials` profile.
# Without an identity the app is signed ad hoc: it runs on this Mac; on others Gatekeeper
# asks the user to confirm (right-click > Open).
set -euo pipefail
cd "$(dirname "$0")/../.."

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 64 ;;
  esac
done
[ "$(uname -s)" = Darwin ] || { echo "build-dmg.sh runs on macOS only" >&2; exit 1; }

[ "$build" = 1 ] && bash packaging/build.sh
app=dist/Palaver.app
test -d "$app" || { echo "$app missing: run packaging/build.sh" >&2; exit 1; }

version=$(/usr/libexec/PlistBuddy -c 'Print :CFBundleShortVersionString' "$app/Contents/Info.plist")
arch=$(uname -m)
entitlements=packaging/macos/entitlements.plist
identity=${PALAVER_CODESIGN_IDENTITY:-}

if [ -n "$identity" ]; then
  # Inside out: every library and plugin, then the app with the hardened runtime and
  # the entitlements (the microphone, and what Python and Qt need under that runtime).
  find "$app/Contents" -type f \( -name '*.dylib' -o -name '*.so' \) -print0 |
    xargs -0 codesign --force --timestamp --options runtime --sign "$identity"
  find "$app/Contents/Frameworks" -type d -name '*.framework' -prune -print0 |
    xargs -0 -r codesign --force --timestamp --options runtime --sign "$identity"
  codesign --force --timestamp --options runtime --entitlements "$entitlements" \
    --sign "$identity" "$app/Contents/MacOS/Palaver"
  codesign --force --timestamp --options runtime --entitlements "$entitlements" \
    --sign "$identity" "$app"
else
  echo "PALAVER_CODESIGN_IDENTITY unset: signing ad hoc (not for distribution)" >&2
  codesign --force --deep --sign - "$app"
fi
codesign --verify --deep --strict --verbose=2 "$app"

# The disk image: the app and a link to /Applications to drag it onto.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
dmg=dist/Palaver-$version-$arch.dmg
rm -f "$dmg"
hdiutil create -volname "Palaver $version" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg"
[ -n "$identity" ] && codesign --force --timestamp --sign "$identity" "$dmg"

if [ -n "${PALAVER_NOTARY_PROFILE:-}" ]; then
  xcrun notarytool submit "$dmg" --keychain-profile "$PALAVER_NOTARY_PROFILE" --wait
  xcrun stapler staple "$dmg"
fi
echo "dmg: $dmg ($(du -h "$dmg" | cut -f1))"
