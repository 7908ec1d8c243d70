"""`FirstRunDialog`: proposes the platform's Pictures folder, or lets the user pick one.

Shown once, on the first start; the choice (or None for "later") is in `chosen`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from sscq_desktop.paths import browse_start_dir


class FirstRunDialog(QDialog):
    """Welcome: which folder to index first. Emits only QDialog's own signals."""

    def __init__(self, proposed: Path, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to SSCQ Desktop")
        self.proposed = proposed
        self.chosen: Path | None = None
        text = QLabel(
            "SSCQ Desktop finds visually similar photos in your library, on this "
            "computer only.\n\nWhich folder should it index first?"
        )
        text.setWordWrap(True)
        exists = proposed.is_dir()
        self.use_button = QPushButton(f"Use {proposed}")
        self.use_button.setEnabled(exists)
        self.use_button.setDefault(exists)
        self.why_label = QLabel(
            ""
            if exists
            else f"{proposed} does not exist on this computer, so it cannot be used: "
            "choose the folder where you keep your photos."
        )
        """Why "Use …" is disabled (empty while it is enabled)."""
        self.why_label.setWordWrap(True)
        self.why_label.setVisible(not exists)
        self.use_button.setToolTip(self.why_label.text())
        choose = QPushButton("Choose another folder…")
        later = QPushButton("Later")
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_button)
        buttons.addWidget(choose)
        buttons.addStretch(1)
        buttons.addWidget(later)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.why_label)
        layout.addLayout(buttons)
        self.use_button.clicked.connect(self._on_use_button_clicked)
        choose.clicked.connect(self._on_choose_button_clicked)
        later.clicked.connect(self.reject)

    def choose(self, folder: Path) -> None:
        self.chosen = folder
        self.accept()

    def _on_use_button_clicked(self) -> None:
        self.choose(self.proposed)

    def _on_choose_button_clicked(self) -> None:
        picked = QFileDialog.getExistingDirectory(
            self, "Folder of photos", str(browse_start_dir())
        )
        if picked:
            self.choose(Path(picked))
