"""open_meter specs and the errors a wrong one gives."""

import importlib.util

import pytest

from edgert.devices.meters import open_meter
from edgert.errors import MeterError


def test_unknown_scheme_lists_the_known_ones():
    with pytest.raises(MeterError, match="unknown meter spec 'usbtmc:x'.*ppk2:.*visa:"):
        open_meter("usbtmc:x")


def test_missing_port_is_a_meter_error():
    with pytest.raises(MeterError, match="cannot open PPK2 port '/dev/edgert-no-such-port'"):
        open_meter("ppk2:/dev/edgert-no-such-port")


def test_missing_visa_resource_is_a_meter_error():
    with pytest.raises(MeterError, match="cannot reach a VISA instrument"):
        open_meter("visa:TCPIP0::10.9.9.9::inst0::INSTR@sim")


@pytest.mark.skipif(importlib.util.find_spec("joulescope") is not None,
                    reason="joulescope installed: the missing-package path cannot be shown")
def test_joulescope_is_an_optional_extra():
    with pytest.raises(MeterError, match=r"pip install 'edgert\[joulescope\]'"):
        open_meter("joulescope:")


def test_bad_option_value_reaches_the_driver():
    with pytest.raises(ValueError, match="PPK2 mode must be 'source' or 'ampere', not 'watt'"):
        open_meter("ppk2:/dev/null?mode=watt")


def test_ppk2_discovery_rule():
    from serial.tools.list_ports_common import ListPortInfo

    from edgert.devices.meters.ppk2 import is_ppk2_port

    def port(product=None, description=None, location=None):
        info = ListPortInfo("/dev/ttyACM0", skip_link_detection=True)
        info.product, info.location = product, location
        info.description = description or "n/a"
        return info

    assert is_ppk2_port(port("PPK2", location="1-2:1.1"))
    assert not is_ppk2_port(port("PPK2", location="1-2:1.0"))  # the kit's other interface
    assert is_ppk2_port(port(description="nRF Connect USB CDC ACM (COM5)", location="1"))
    assert not is_ppk2_port(port("Arduino Uno", location="1-2:1.1"))


def test_no_ppk2_plugged_in():
    from edgert.devices.meters.ppk2 import find_ppk2_ports
    if find_ppk2_ports():
        pytest.skip("a PPK2 is plugged in")
    with pytest.raises(MeterError, match="found 0 PPK2 kits"):
        open_meter("ppk2:")
