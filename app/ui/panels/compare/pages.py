"""The compare panel's other pages: the run history, the leaderboard, and the diff window."""

from __future__ import annotations

import asyncio
import datetime as dt
import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.compare import Comparison
from app.core.compare_history import ModelSpeed, RunSummary
from app.core.diff import DiffOp, similarity, word_diff
from app.core.leaderboard import Period, Standing
from app.ui.dialogs.common import named
from app.ui.errors import failure_text
from app.ui.tasks import TaskOwner

RUN_ID = Qt.ItemDataRole.UserRole + 1


class HistoryPage(QWidget):
    """Past runs, newest first; activating one opens it (offline, from the store)."""

    run_activated = Signal(int)
    delete_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "compareHistoryPage", "Comparison history")
        self.list = named(QListWidget(), "compareHistoryList", "Past comparisons")
        self.list.setWordWrap(True)
        self.open_button = named(QPushButton("Open"), "openRunButton", "Open the chosen comparison")
        self.delete_button = named(
            QPushButton("Delete"), "deleteRunButton", "Delete the chosen comparison"
        )
        self.empty = QLabel("No comparisons yet. Run one on the Compare page.")
        self.empty.setObjectName("compareHistoryEmpty")
        row = QHBoxLayout()
        row.addWidget(self.empty)
        row.addStretch(1)
        row.addWidget(self.delete_button)
        row.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.list.itemActivated.connect(self.on_list_item_activated)
        self.open_button.clicked.connect(self.on_open_clicked)
        self.delete_button.clicked.connect(self.on_delete_clicked)

    def set_runs(self, runs: list[RunSummary]) -> None:
        self.list.clear()
        for run in runs:
            when = dt.datetime.fromtimestamp(run.created_at).strftime("%Y-%m-%d %H:%M")
            prompt = " ".join(run.prompt.split())
            prompt = prompt[:90] + ("…" if len(prompt) > 90 else "")
            vote = run.vote or {}
            verdict = (
                f"best: {vote.get('model', '').split('/', 1)[-1]}"
                if vote.get("winner") is not None
                else "tie"
                if vote.get("tie")
                else "no vote"
            )
            item = QListWidgetItem(f"{when} · {prompt}\n    {', '.join(run.models)} — {verdict}")
            item.setData(RUN_ID, run.run_id)
            self.list.addItem(item)
        self.empty.setVisible(not runs)
        self.open_button.setEnabled(bool(runs))
        self.delete_button.setEnabled(bool(runs))
        if runs:
            self.list.setCurrentRow(0)

    def on_list_item_activated(self, item: QListWidgetItem) -> None:
        self.run_activated.emit(int(item.data(RUN_ID)))

    def on_delete_clicked(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.delete_requested.emit(int(item.data(RUN_ID)))

    def on_open_clicked(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.on_list_item_activated(item)


def _table(name: str, accessible: str, headers: list[str]) -> QTableWidget:
    table = named(QTableWidget(0, len(headers)), name, accessible)
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(1 if headers[0] == "#" else 0, QHeaderView.ResizeMode.Stretch)
    return table


def _cell(text: str, *, number: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if number:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class LeaderboardPage(QWidget):
    """Ratings from the user's own votes, beside the measured speed and cost per model."""

    period_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "leaderboardPage", "Leaderboard")
        self.period = named(QComboBox(), "leaderboardPeriodCombo", "Period")
        for period in Period:
            self.period.addItem(period.label, period.value)
        self.summary = named(QLabel(), "leaderboardSummary", "Leaderboard summary")
        self.table = _table(
            "leaderboardTable",
            "Leaderboard",
            ["#", "Model", "Rating", "Runs", "Wins", "Ties", "Win rate"],
        )
        self.speeds = _table(
            "speedTable",
            "Measured speed and cost per model",
            ["Model", "Calls", "Median tok/s", "Median TTFT", "Median cost", "$ / 1M out"],
        )
        top = QHBoxLayout()
        top.addWidget(QLabel("Period:"))
        top.addWidget(self.period)
        top.addWidget(self.summary, 1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("<b>Your votes</b> (Bradley-Terry rating, 1000 = average)"))
        left_layout.addWidget(self.table, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(QLabel("<b>Measured</b> (median of the latest answers)"))
        right_layout.addWidget(self.speeds, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("leaderboardSplitter")
        split.addWidget(left)
        split.addWidget(right)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self.period.currentIndexChanged.connect(
            lambda _i: self.period_changed.emit(str(self.period.currentData()))
        )

    def current_period(self) -> Period:
        return Period(str(self.period.currentData()))

    def set_data(self, standings: list[Standing], speeds: list[ModelSpeed], runs: int) -> None:
        self.table.setRowCount(len(standings))
        for row, s in enumerate(standings):
            values = [
                _cell(str(row + 1), number=True),
                _cell(s.model),
                _cell(f"{s.rating:.0f}", number=True),
                _cell(str(s.runs), number=True),
                _cell(str(s.wins), number=True),
                _cell(str(s.ties), number=True),
                _cell(f"{s.win_rate:.0%}", number=True),
            ]
            for col, item in enumerate(values):
                self.table.setItem(row, col, item)
        self.speeds.setRowCount(len(speeds))
        for row, m in enumerate(speeds):
            values = [
                _cell(f"{m.provider}/{m.model}"),
                _cell(str(m.calls), number=True),
                _cell("–" if m.tokens_per_s is None else f"{m.tokens_per_s:.0f}", number=True),
                _cell("–" if m.ttft_s is None else f"{m.ttft_s * 1000:.0f} ms", number=True),
                _cell("–" if m.cost is None else f"${m.cost:.4f}", number=True),
                _cell("–" if m.cost_per_m_out is None else f"${m.cost_per_m_out:.2f}", number=True),
            ]
            for col, item in enumerate(values):
                self.speeds.setItem(row, col, item)
        self.summary.setText(
            f"{runs} voted run{'s' if runs != 1 else ''} · {len(standings)} models"
            if standings
            else "No votes in this period yet: vote for the best answer after a comparison."
        )


def diff_html(ops: list[DiffOp]) -> str:
    """Deletions struck through in red, insertions in green, whitespace kept."""
    out = ['<div style="white-space: pre-wrap">']
    for op in ops:
        text = html.escape(op.text)
        if op.kind == "equal":
            out.append(text)
        elif op.kind == "delete":
            out.append(
                f'<span style="background-color:#fbd5d5; color:#8a1010; '
                f'text-decoration:line-through">{text}</span>'
            )
        else:
            out.append(f'<span style="background-color:#d3f5d3; color:#0b5d0b">{text}</span>')
    out.append("</div>")
    return "".join(out)


class DiffDialog(QDialog):
    """Word-level differences between two answers of the current run (not modal)."""

    pair_changed = Signal(int, int)  # column indices: left, right

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "diffDialog", "Differences between two answers")
        self.setWindowTitle("Compare two answers")
        self.resize(820, 600)
        self.left = named(QComboBox(), "diffLeftCombo", "First answer")
        self.right = named(QComboBox(), "diffRightCombo", "Second answer")
        self.similarity = named(QLabel(), "diffSimilarityLabel", "Similarity")
        self.view = named(QTextBrowser(), "diffView", "Differences")
        self.view.setOpenLinks(False)
        legend = QLabel(
            '<span style="background-color:#fbd5d5; text-decoration:line-through">only in the first</span>'
            '  <span style="background-color:#d3f5d3">only in the second</span>'
        )
        top = QHBoxLayout()
        top.addWidget(self.left, 1)
        top.addWidget(QLabel("→"))
        top.addWidget(self.right, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        row = QHBoxLayout()
        row.addWidget(legend, 1)
        row.addWidget(self.similarity)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)
        self.comparison: Comparison | None = None
        self.tasks = TaskOwner(self.on_task_failed)
        self.left.currentIndexChanged.connect(self.on_combo_index_changed)
        self.right.currentIndexChanged.connect(self.on_combo_index_changed)
        self.pair_changed.connect(self.on_pair_changed)

    def set_answers(self, labels: list[tuple[int, str]], left: int, right: int) -> None:
        """``labels``: (column index, label) in screen order."""
        for combo, chosen in ((self.left, left), (self.right, right)):
            combo.blockSignals(True)
            combo.clear()
            for index, label in labels:
                combo.addItem(label, index)
            combo.setCurrentIndex(max(0, combo.findData(chosen)))
            combo.blockSignals(False)
        self.on_combo_index_changed()

    def open_for(self, comparison: Comparison) -> None:
        """Show the differences of the first two answered columns of ``comparison``, in
        screen order (labels as the run shows them); the combos pick another pair."""
        answered = [c for c in comparison.in_screen_order() if c.text]
        if len(answered) < 2:
            return
        self.comparison = comparison
        labels = [(c.index, comparison.label(c)) for c in answered]
        self.set_answers(labels, answered[0].index, answered[1].index)
        self.show()
        self.raise_()

    def on_pair_changed(self, left: int, right: int) -> None:
        if self.comparison is not None:
            a, b = self.comparison.columns[left].text, self.comparison.columns[right].text
            self.tasks.start("diff", self._diff(a, b))

    async def _diff(self, a: str, b: str) -> None:
        # A worker thread: two long answers take tens of milliseconds to match.
        self.show_diff(await asyncio.to_thread(word_diff, a, b))

    def on_task_failed(self, error: BaseException) -> None:
        self.similarity.setText(failure_text(error))

    def pair(self) -> tuple[int, int]:
        return int(self.left.currentData()), int(self.right.currentData())

    def show_diff(self, ops: list[DiffOp]) -> None:
        self.view.setHtml(diff_html(ops))
        self.similarity.setText(f"{similarity(ops):.0%} of words in common")

    def on_combo_index_changed(self, _index: int = 0) -> None:
        if self.left.count() and self.right.count():
            self.pair_changed.emit(*self.pair())
