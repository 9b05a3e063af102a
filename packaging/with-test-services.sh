#!/usr/bin/env bash
# Run a command with the services the tests use where a desktop would have them:
# a PulseAudio null sink as the default speaker/microphone, and an unlocked
# gnome-keyring Secret Service on a private D-Bus session. Each is optional: when a
# tool is missing the command still runs and the tests that need it skip themselves.
set -uo pipefail

if [ -z "${PALAVER_SERVICES_READY:-}" ] && command -v dbus-run-session >/dev/null 2>&1 \
   && command -v gnome-keyring-daemon >/dev/null 2>&1; then
  export PALAVER_SERVICES_READY=1
  exec dbus-run-session -- bash "$0" "$@"
fi

if command -v gnome-keyring-daemon >/dev/null 2>&1 && [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  eval "$(printf 'palaver-ci' | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)" || true
  export GNOME_KEYRING_CONTROL SSH_AUTH_SOCK 2>/dev/null || true
fi

pulse_started=""
if command -v pulseaudio >/dev/null 2>&1 && ! pactl info >/dev/null 2>&1; then
  export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
  chmod 700 "$XDG_RUNTIME_DIR"
  if pulseaudio --start --exit-idle-time=-1 >/dev/null 2>&1; then
    pulse_started=1
    pactl load-module module-null-sink sink_name=palaver_null >/dev/null
    pactl set-default-sink palaver_null
    pactl set-default-source palaver_null.monitor
  fi
fi

"$@"
status=$?
if [ -n "$pulse_started" ]; then
  pulseaudio --kill >/dev/null 2>&1 || true
fi
exit $status
