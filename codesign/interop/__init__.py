"""Interoperability: model files from other tools' formats.

:mod:`codesign.interop.onnx_import` turns an ONNX model into a model file (``models/*.yaml``)
that :func:`codesign.workload.zoo.load_model` loads. ``onnx`` is imported only when a model
is imported, so importing this package (and ``codesign --help``) stays fast.
"""

from __future__ import annotations

from codesign.interop.onnx_import import ImportResult, import_onnx, to_yaml, write_model

__all__ = ["ImportResult", "import_onnx", "to_yaml", "write_model"]
