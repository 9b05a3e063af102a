"""Sound device choices shared by the speech (outputs) and transcription (inputs) panels."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QComboBox, QLabel

from app.audio import Device
from app.ui.dialogs.common import named


def fill_devices(
    combo: QComboBox,
    devices: Sequence[Device],
    default: object,
    wanted: str | None,
    none_label: str,
) -> bool:
    """Offer "System default (name)" then every device, with ``wanted`` selected.

    ``default`` is the system's default device, or the reason there is none. With no
    device, the one entry is ``none_label`` and the combo is disabled. Returns False when a
    saved ``wanted`` device is not connected (the caller says so and uses the default)."""
    combo.blockSignals(True)
    combo.clear()
    found = True
    if devices:
        name = default.name if isinstance(default, Device) else ""
        combo.addItem(f"System default ({name})" if name else "System default", None)
        for device in devices:
            combo.addItem(device.label, device.name)
        index = combo.findData(wanted)
        combo.setCurrentIndex(max(0, index))
        found = index >= 0 or wanted is None
    else:
        combo.addItem(none_label, None)
    combo.setEnabled(bool(devices))
    combo.blockSignals(False)
    return found


def device_warning(object_name: str, accessible_name: str) -> QLabel:
    """The hidden, wrapped line that says why a device cannot be used."""
    label = named(QLabel(), object_name, accessible_name)
    label.setWordWrap(True)
    label.setProperty("tone", "warning")
    label.setStyleSheet("color: #b35c00;")
    label.hide()
    return label


def clock(seconds: float) -> str:
    """``m:ss`` for a playback or recording time."""
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"
