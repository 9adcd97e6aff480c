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
