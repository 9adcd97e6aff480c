"""Importers: one per source format, each returning a Graph.

Dispatch is by file suffix for paths and by type for in-memory objects; importer modules are
imported only when used, so their third-party dependencies stay optional.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from edgert.errors import ModelError

from ..ir import Graph

SUFFIXES = {
    ".tflite": "tflite",
    ".onnx": "onnx",
    ".nir": "nir",
    ".joblib": "sklearn",
    ".pkl": "sklearn",
    ".pickle": "sklearn",
}


def _module(name: str):
    return importlib.import_module(f"{__name__}.{name}")


def import_model(src, **options) -> Graph:
    """Turn a path or an in-memory model into a Graph."""
    if isinstance(src, Graph):
        return src
    if isinstance(src, (str, Path)):
        path = Path(src)
        suffix = path.suffix.lower()
        if suffix not in SUFFIXES:
            raise ModelError(f"{path}: unknown model format {suffix!r}; edgert imports "
                             + ", ".join(sorted(SUFFIXES)) + " (and compiled .ert files load with edgert.load)")
        if not path.is_file():
            raise ModelError(f"{path}: no such file")
        return _module(SUFFIXES[suffix]).load(path, **options)
    module = type(src).__module__.split(".")[0]
    if module == "sklearn" or (module == "sklearn" and hasattr(src, "predict")):
        return _module("sklearn").from_estimator(src, **options)
    if module == "nir":
        return _module("nir").from_nir(src, **options)
    if module == "onnx":
        return _module("onnx").from_proto(src, **options)
    raise ModelError(f"cannot compile an object of type {type(src).__name__}; pass a model file "
                     "path, a Graph, a fitted scikit-learn estimator or a nir.NIRGraph")
