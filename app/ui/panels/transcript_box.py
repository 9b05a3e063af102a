"""The transcription panel's result box: the transcript as text and as timed segments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.transcription import EXPORT_FORMATS, format_timestamp
from app.store import Transcription
from app.ui.dialogs.common import named
from app.ui.widgets.devices import clock

SEGMENTS_TAB = 1
_FILTERS = {
    "txt": "Plain text (*.txt)",
    "srt": "SubRip subtitles (*.srt)",
    "vtt": "WebVTT subtitles (*.vtt)",
}


def transcript_label(item: Transcription) -> str:
    """Two lines for the history list: the opening words, then when, what and which model."""
    when = dt.datetime.fromtimestamp(item.created_at).strftime("%d %b %H:%M")
    text = " ".join(item.transcript.split())
    excerpt = text if len(text) <= 60 else text[:59] + "…"
    name = str(item.options.get("file_name") or "audio")
    length = f" · {clock(item.duration_s)}" if item.duration_s else ""
    return f"{excerpt or '(no speech)'}\n{when} · {name}{length} · {item.model or ''}"


def ask_save_path(
    parent: QWidget, item: Transcription, chosen: Callable[[Path, str], object]
) -> None:
    """Ask where to save ``item`` (txt, srt or vtt; its own format first) without blocking;
    ``chosen`` gets the path (its suffix fixed when missing) and the format."""
    kept = str(item.options.get("response_format", ""))
    first = kept if kept in EXPORT_FORMATS else "txt"
    dialog = QFileDialog(parent, "Save transcript")
    dialog.setObjectName("saveTranscriptDialog")
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setNameFilters([_FILTERS[first], *(_FILTERS[f] for f in EXPORT_FORMATS if f != first)])
    dialog.setDefaultSuffix(first)
    stem = Path(str(item.options.get("file_name") or "transcript")).stem or "transcript"
    dialog.selectFile(f"{stem}.{first}")

    def on_selected(path: str) -> None:
        target = Path(path)
        fmt = target.suffix.lower().lstrip(".")
        if fmt not in EXPORT_FORMATS:
            picked = dialog.selectedNameFilter()
            fmt = next((f for f, label in _FILTERS.items() if label == picked), "txt")
            target = target.with_name(f"{target.name}.{fmt}")
        chosen(target, fmt)

    dialog.fileSelected.connect(on_selected)
    dialog.open()


class TranscriptBox(QGroupBox):
    """Text and Segments tabs, a details line (model, format, language, length, cost),
    Copy and Save. The panel owns the current transcript and the two actions."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Transcript", parent)
        self.setObjectName("transcriptGroup")
        self.transcript = named(QPlainTextEdit(), "transcriptText", "Transcript")
        self.transcript.setReadOnly(True)
        self.transcript.setPlaceholderText("The transcript appears here.")
        self.segments = named(QTableWidget(0, 3), "segmentsTable", "Segments with timestamps")
        self.segments.setHorizontalHeaderLabels(["Start", "End", "Text"])
        self.segments.verticalHeader().hide()
        self.segments.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.segments.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.segments.setWordWrap(True)
        header = self.segments.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.tabs = named(QTabWidget(), "transcriptTabs", "Transcript views")
        self.tabs.addTab(self.transcript, "Text")
        self.tabs.addTab(self.segments, "Segments")
        self.copy_button = named(QPushButton("Copy"), "copyTranscriptButton", "Copy transcript")
        self.save_button = named(
            QPushButton("Save…"), "saveTranscriptButton", "Save as .txt, .srt or .vtt"
        )
        self.info = named(QLabel(), "transcriptInfo", "Transcript details")
        self.info.setWordWrap(True)

        actions = QHBoxLayout()
        actions.addWidget(self.info, 1)
        actions.addWidget(self.copy_button)
        actions.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(actions)

    def show_item(self, item: Transcription) -> None:
        """Show ``item``: its text, one row per timed segment, and its details."""
        self.transcript.setPlainText(item.transcript)
        self.segments.setRowCount(0)
        for segment in item.segments:
            row = self.segments.rowCount()
            self.segments.insertRow(row)
            start = float(segment.get("start") or 0.0)
            end = float(segment.get("end") or 0.0)
            self.segments.setItem(row, 0, QTableWidgetItem(format_timestamp(start, ".")[:-1]))
            self.segments.setItem(row, 1, QTableWidgetItem(format_timestamp(end, ".")[:-1]))
            self.segments.setItem(row, 2, QTableWidgetItem(str(segment.get("text") or "").strip()))
        self.segments.resizeRowsToContents()
        count = len(item.segments)
        self.tabs.setTabEnabled(SEGMENTS_TAB, bool(count))
        self.tabs.setTabText(SEGMENTS_TAB, f"Segments ({count})" if count else "Segments")
        details = [item.model or "", str(item.options.get("response_format", ""))]
        if item.language:
            details.append(item.language)
        if item.duration_s:
            details.append(clock(item.duration_s))
        if item.cost is not None:
            details.append(f"${item.cost:.4f}")
        self.info.setText(" · ".join(d for d in details if d))

    def clear(self) -> None:
        self.transcript.clear()
        self.segments.setRowCount(0)
        self.info.clear()
