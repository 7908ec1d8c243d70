"""Retrain on the library's photos, and judge the new model without labels.

- ``retrain_request``: what a retrain asks for (`RetrainRequest`) and the trainer's
  argument list (`trainer_command`).
- ``trainer_process``: the trainer child process and its JSON-lines events.
- ``retrainer``: `Retrainer`, a retrain from the library's side (photos, files, run).
- ``quality_estimate`` / ``model_check``: label-free quality signals, and the rule
  that says whether the new model is measurably better.

Never imports the trainer (it runs as a child process); no Qt.
"""

from __future__ import annotations
