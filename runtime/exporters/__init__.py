"""Exporters: a compiled Graph back to an interchange format (NIR)."""
