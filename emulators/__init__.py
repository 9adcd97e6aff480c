"""Cycle-approximate device emulators."""
