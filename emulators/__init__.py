"""Cycle-approximate device emulators: run a model on the host, report cost on a device."""
from .core import DeviceModel, Emulator, cost_model, emulate, register
from .report import NodeCost, Report

__all__ = ["DeviceModel", "Emulator", "NodeCost", "Report", "cost_model", "emulate", "register"]
