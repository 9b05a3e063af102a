"""The speech panel's player box: the current clip, transport, position and output device.

It only shows: the panel owns the clip and the :class:`app.audio.Player` and tells the box
what to display.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.ui.dialogs.common import named
from app.ui.widgets.devices import clock, device_warning


class PlayerBox(QGroupBox):
    """Play / pause, stop, a seek slider with the time, the output device and Save."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Player", parent)
        self.setObjectName("speechPlayerGroup")
        self.play_button = named(QPushButton("▶ Play"), "playButton", "Play")
        self.stop_button = named(QPushButton("■ Stop"), "stopPlaybackButton", "Stop playback")
        self.position = named(
            QSlider(Qt.Orientation.Horizontal), "positionSlider", "Playback position"
        )
        self.position.setRange(0, 0)
        self.time_label = named(QLabel("0:00 / 0:00"), "playbackTime", "Playback time")
        self.output = named(QComboBox(), "outputDeviceCombo", "Output device")
        self.rescan_button = named(
            QPushButton("Rescan"), "rescanOutputsButton", "Rescan output devices"
        )
        self.save_button = named(QPushButton("Save…"), "saveClipButton", "Save clip to a file")
        self.device_warning = device_warning("outputDeviceWarning", "Output device problem")
        self.now_playing = named(QLabel("No clip yet."), "currentClipLabel", "Current clip")
        self.now_playing.setWordWrap(True)

        transport = QHBoxLayout()
        transport.addWidget(self.play_button)
        transport.addWidget(self.stop_button)
        transport.addWidget(self.position, 1)
        transport.addWidget(self.time_label)
        device_row = QHBoxLayout()
        device_row.addWidget(QLabel("Output"))
        device_row.addWidget(self.output, 1)
        device_row.addWidget(self.rescan_button)
        device_row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.now_playing)
        layout.addLayout(transport)
        layout.addLayout(device_row)
        layout.addWidget(self.device_warning)
        self.show_state("stopped")

    @property
    def seconds(self) -> float:
        """Where the slider stands."""
        return self.position.value() / 1000

    def show_clip(self, text: str, duration: float) -> None:
        """A new current clip (``text`` describes it), from its start."""
        self.now_playing.setText(text)
        self.position.setRange(0, int(duration * 1000))
        self.position.setValue(0)
        self.show_time(0.0, duration)

    def show_position(self, seconds: float, duration: float) -> None:
        """Where playback is; the slider is left alone while the user drags it."""
        if not self.position.isSliderDown():
            self.position.setValue(int(seconds * 1000))
        self.show_time(seconds, duration)

    def show_time(self, seconds: float, duration: float) -> None:
        self.time_label.setText(f"{clock(seconds)} / {clock(duration)}")

    def show_state(self, state: str) -> None:
        playing = state == "playing"
        self.play_button.setText("❚❚ Pause" if playing else "▶ Play")
        self.play_button.setAccessibleName("Pause" if playing else "Play")
        self.stop_button.setEnabled(state != "stopped")

    def show_device_problem(self, text: str) -> None:
        self.device_warning.setText(text)
        self.device_warning.show()
