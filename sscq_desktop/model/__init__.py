"""The model artifact (format, validation), preprocessing and the onnxruntime encoder.

Depends on `sscq_desktop.core` only; knows nothing of the catalog, Qt or torch.
"""
