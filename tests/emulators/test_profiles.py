"""Device profiles: every shipped profile loads, and malformed ones are rejected naming the field."""
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from edgert.devices.profiles import PROFILE_DIR, load_all, load_profile, profile_names
from edgert.errors import ProfileError

GAP8_TEXT = (PROFILE_DIR / "gap8.toml").read_text()


def write(tmp_path: Path, text: str, name: str = "gap8") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_shipped_profiles_load_and_every_number_has_a_source():
    names = profile_names()
    assert {"gap8", "pulp-open", "stm32l4r5", "rv32imc", "cortex-m4"} <= set(names)
    for profile in load_all():
        raw = tomllib.loads(profile.path.read_text())
        leaves = _count_quantities(raw)
        assert leaves == len(profile.sources), profile.name
        assert all(s.strip() for s in profile.sources.values())


def _count_quantities(node) -> int:
    if isinstance(node, dict):
        if "value" in node and "source" in node:
            return 1
        return sum(_count_quantities(v) for v in node.values())
    if isinstance(node, list):
        return sum(_count_quantities(v) for v in node)
    return 0


def test_values_unwrap_and_are_reachable_by_path():
    gap8 = load_profile("gap8")
    assert gap8.value("units.cluster.cores") == 8
    assert gap8.value("memory.L1.size_bytes") == 65536
    assert gap8.source("memory.L1.size_bytes").startswith("gap_props")
    assert [m.name for m in gap8.memory] == ["L1", "L2", "L3"]
    assert gap8.value("units.cluster.features.fpu") is False


def test_operating_point_choice():
    gap8 = load_profile("gap8")
    assert gap8.operating_point("cluster").name == "1.2V"  # fastest when nothing asked
    assert gap8.operating_point("cluster", freq_hz=80e6).name == "1.0V"  # lowest voltage that reaches it
    assert gap8.operating_point("cluster", freq_hz=175e6).name == "1.2V"
    with pytest.raises(ProfileError, match="exceeds"):
        gap8.operating_point("cluster", freq_hz=300e6)
    with pytest.raises(ProfileError, match="no operating point"):
        gap8.operating_point("cluster", name="2.0V")


def test_missing_field_requested_by_a_cost_model_is_named():
    with pytest.raises(ProfileError, match=r"gap8\.toml.*'timing\.warp_drive'"):
        load_profile("gap8").value("timing.warp_drive")


def test_unknown_device_lists_the_known_ones():
    with pytest.raises(ProfileError, match="gap8"):
        load_profile("gap9")


@pytest.mark.parametrize("old, new, field", [
    ('size_bytes = {value = 65536, source = "gap_props: ARCHI_L1_SIZE 65536"}',
     "size_bytes = 65536", "memory[0].size_bytes"),
    ('size_bytes = {value = 65536, source = "gap_props: ARCHI_L1_SIZE 65536"}',
     'size_bytes = {value = 65536, source = "nowhere"}', "memory[0].size_bytes.source"),
    ('size_bytes = {value = 65536, source = "gap_props: ARCHI_L1_SIZE 65536"}',
     'size_bytes = {value = 65536}', "memory[0].size_bytes.source"),
    ('size_bytes = {value = 65536, source = "gap_props: ARCHI_L1_SIZE 65536"}',
     'size_bytes = {value = -1, source = "estimated"}', "memory[0].size_bytes"),
    ('size_bytes = {value = 65536, source = "gap_props: ARCHI_L1_SIZE 65536"}',
     'size_bytes = {value = "big", source = "estimated"}', "memory[0].size_bytes.value"),
    ('size_bytes = {value = 65536, source = "gap_props: ARCHI_L1_SIZE 65536"}',
     'size_bytes = {value = 65536, source = "estimated", unit = "B"}', "memory[0].size_bytes"),
    ('name = "L2"\nkind = "sram"', 'name = "L2"\nkind = "core memory"', "memory[1].kind"),
    ('name = "L2"', 'name = "L1"', "memory[1].name"),
    ('cores = {value = 8, source = "gap_sdk"}', 'cores = {value = 0, source = "gap_sdk"}', "units.cluster.cores"),
    ('cores = {value = 8, source = "gap_sdk"}', 'cores = {value = 8.5, source = "gap_sdk"}', "units.cluster.cores"),
    ('clock = "cluster"\nisa', 'isa', "units.cluster.clock"),
    ('cluster = {value = 175e6, source = "gap_bench"}', 'cluster = {value = 0, source = "gap_bench"}',
     "operating_points[0].clocks_hz.cluster"),
    ('voltage_v = {value = 1.2, source = "gap_bench"}', 'voltage_v = {value = -1.2, source = "gap_bench"}',
     "operating_points[0].voltage_v"),
    ('from = "L2"', 'from = "L9"', "dma.cluster.from"),
    ("schema = 1", "schema = 2", "schema"),
    ('kind = "pulp"', "kind = 3", "kind"),
    ('name = "gap8"', 'name = "gap9"', "name"),
    ("[power]", "[powr]", "powr"),
    ('alu = {value = 1, source = "cv32e40p"}', "alu = [1, 2]", "timing.alu"),
])
def test_malformed_field_is_named(tmp_path, old, new, field):
    assert old in GAP8_TEXT
    path = write(tmp_path, GAP8_TEXT.replace(old, new, 1))
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert "gap8.toml" in str(err.value)
    assert f"'{field}'" in str(err.value)


def test_invalid_toml_and_unreadable_file(tmp_path):
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(write(tmp_path, GAP8_TEXT + "\n[[[oops"))
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "absent.toml")
    bad = tmp_path / "gap8.toml"
    bad.write_bytes(b"\xff\xfe name")
    with pytest.raises(ProfileError):
        load_profile(bad)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_give_profile_error_only(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "gap8.toml"
    path.write_bytes(data)
    with pytest.raises(ProfileError):
        load_profile(path)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(GAP8_TEXT) - 1), st.integers(1, 40), st.text(max_size=8))
def test_mutated_profile_loads_or_gives_profile_error(tmp_path_factory, at, cut, insert):
    text = GAP8_TEXT[:at] + insert + GAP8_TEXT[at + cut:]
    path = tmp_path_factory.mktemp("mut") / "gap8.toml"
    path.write_text(text)
    try:
        load_profile(path)
    except ProfileError as exc:
        assert "gap8.toml" in str(exc)
