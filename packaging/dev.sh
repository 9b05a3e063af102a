#!/usr/bin/env bash
# Palaver from a checkout: install everything it needs, then start it or test it.
#   bash packaging/dev.sh run [app args...]   # system packages, .venv, start the app
#   bash packaging/dev.sh test [pytest args...] # + test extras, virtual audio and keyring, pytest
#   bash packaging/dev.sh packages run|test     # print the Debian packages each mode needs
# System packages are installed with apt on Debian/Ubuntu (sudo when not root); elsewhere
# install PortAudio yourself. Re-running skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
shift || true

RUN_PKGS="libportaudio2 libpulse0 libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1
  libxcb-image0 libxcb-render-util0 libxcb-randr0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1
  libegl1 libgl1 libfontconfig1 libdbus-1-3 libglib2.0-0"
TEST_PKGS="xvfb xauth pulseaudio pulseaudio-utils libasound2-plugins espeak-ng gnome-keyring dbus
  dbus-x11 fonts-wqy-microhei imagemagick desktop-file-utils"

apt_install() {
  command -v apt-get >/dev/null 2>&1 || { echo "note: no apt-get here; install PortAudio (and for tests Xvfb, PulseAudio, espeak-ng) yourself" >&2; return 0; }
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing system packages: ${missing[*]}" >&2
  $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

python_env() {
  local extras=$1
  local py=${PYTHON:-python3}
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}"
}

case "$mode" in
  packages)
    if [ "${1:-run}" = test ]; then echo $RUN_PKGS $TEST_PKGS; else echo $RUN_PKGS; fi
    ;;
  run)
    apt_install $RUN_PKGS
    python_env ""
    exec .venv/bin/python -m app "$@"
    ;;
  test)
    apt_install $RUN_PKGS $TEST_PKGS
    python_env "[test]"
    exec bash packaging/with-test-services.sh .venv/bin/python -m pytest "$@"
    ;;
  *)
    echo "usage: bash packaging/dev.sh run|test [args...]  |  packages run|test" >&2
    exit 64
    ;;
esac
