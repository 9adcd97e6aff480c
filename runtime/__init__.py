"""Graph IR, importers, compiler to .ert, and host execution."""
from .compiler import Model, compile, load
from .ir import Graph, Node, Quant, Tensor
from .session import NodeRecord, Session

__all__ = ["Graph", "Model", "Node", "NodeRecord", "Quant", "Session", "Tensor", "compile", "load"]
