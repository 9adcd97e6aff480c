"""A pyvisa backend for tests and demos: pyvisa-sim loaded with edgert's instrument
definitions (package data ``*.yaml`` here), where each instrument is fronted by a
byte-level Python model (``instruments.py``) for what YAML cannot express (acquisitions
that run in time, binary blocks, growing buffers). Every message written is logged, so
tests can assert the exact command sequence a driver sends.

``pyvisa.ResourceManager(simulated_visa())``, or ``open_meter("visa:<resource>@sim")``.
"""

from __future__ import annotations

from importlib import resources

from pyvisa import constants, errors
from pyvisa.highlevel import VisaLibraryBase
from pyvisa_sim.highlevel import SimVisaLibrary

from .instruments import MODELS

INDEX = "instruments.yaml"


class SimulatedVisa(SimVisaLibrary):
    def _init(self):
        super()._init()
        self.log: dict[str, list[str]] = {}
        self.models = {}
        for name in self.devices.list_resources():
            device = self.devices[name]
            if device.name in MODELS:
                model = MODELS[device.name](device)
                self.devices._internal[name] = model  # pyvisa-sim keeps no public setter
                self.models[name] = model

    def open(self, *args, **kwargs):
        """As a real VISA library does (pyvisa-sim only returns the status): an unknown
        resource raises."""
        session, status = super().open(*args, **kwargs)
        if status < 0:
            raise errors.VisaIOError(status)
        return session, status

    def write(self, session, data):
        sess = self.sessions.get(session)
        if sess is not None:  # an unknown session is refused by pyvisa-sim below
            name = sess.attrs[constants.ResourceAttribute.resource_name]
            text = bytes(data).decode("latin-1").rstrip("\n")
            self.log.setdefault(name, []).extend(text.split("\n"))
        return super().write(session, data)

    def commands(self, resource: str) -> list[str]:
        """Messages written to ``resource``, one per line, terminators stripped."""
        return list(self.log.get(self._canonical(resource), []))

    def model(self, resource: str):
        return self.models[self._canonical(resource)]

    @staticmethod
    def _canonical(resource: str) -> str:
        from pyvisa.rname import to_canonical_name
        return to_canonical_name(resource)


def simulated_visa(definitions=None) -> SimulatedVisa:
    """A fresh simulated library (pyvisa caches libraries by path; tests need a clean one)."""
    path = definitions or str(resources.files(__package__).joinpath(INDEX))
    lib = SimulatedVisa(path)
    VisaLibraryBase._registry.pop((SimulatedVisa, lib.library_path), None)
    return lib
