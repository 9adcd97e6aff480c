"""Device profiles: TOML data files with a source for every number (schema in docs/profiles.md).

A profile describes a device's clocks and operating points, compute units and their ISA
features, memory levels, DMA engines, power and per-operation energy. Every number or flag is
written as ``{value = ..., source = "..."}``; a source names an entry of the profile's
``[references]`` table (``"gap_sdk"`` or ``"gap_sdk: properties.h"``), or says
``estimated: why`` or ``derived: arithmetic``. The loader checks the shape that is common to
every device; the cost model selected by ``kind`` asks for the fields it needs through
:meth:`Profile.value`, which names the file and field when one is missing.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from edgert.errors import ProfileError

PROFILE_DIR = Path(__file__).parent / "profiles"
SCHEMA_VERSION = 1
MEMORY_KINDS = ("sram", "flash", "dram")
TOP_LEVEL = {
    "schema", "name", "kind", "title", "summary", "references",
    "units", "memory", "operating_points", "dma", "power", "energy_pj", "timing", "params",
}
_MISSING = object()


@dataclass(frozen=True)
class MemoryLevel:
    name: str
    kind: str  # one of MEMORY_KINDS
    size_bytes: int
    fields: dict  # every other field of the level, plain values


@dataclass(frozen=True)
class OperatingPoint:
    name: str
    voltage_v: float | None
    clocks_hz: dict  # clock domain -> Hz
    power_w: dict  # nested plain values, may be empty
    fields: dict  # every other field (flash wait states, power-mode caps, ...), plain values


@dataclass(frozen=True)
class Profile:
    name: str
    kind: str
    title: str
    summary: str
    path: Path
    data: dict  # plain values; [[memory]] and [[operating_points]] keyed by their names
    sources: dict  # path tuple -> source string

    def value(self, path: str | tuple, default=_MISSING):
        """The plain value at a dotted path such as ``units.cluster.cores`` (a tuple of keys
        when a name holds a dot, such as the operating point ``1.2V``)."""
        node = self.data
        for part in _parts(path):
            if not isinstance(node, dict) or part not in node:
                if default is not _MISSING:
                    return default
                raise ProfileError(f"{self.path.name}: field {_dotted(path)!r} is missing; the "
                                   f"{self.kind!r} cost model needs it (see docs/profiles.md)")
            node = node[part]
        return node

    def source(self, path: str | tuple) -> str:
        return self.sources[_parts(path)]

    @property
    def memory(self) -> list[MemoryLevel]:
        """Memory levels, nearest to the cores first."""
        return [MemoryLevel(name, level["kind"], level["size_bytes"],
                            {k: v for k, v in level.items() if k not in ("kind", "size_bytes")})
                for name, level in self.data["memory"].items()]

    @property
    def operating_points(self) -> list[OperatingPoint]:
        return [OperatingPoint(name, op.get("voltage_v"), dict(op["clocks_hz"]), dict(op.get("power_w", {})),
                               {k: v for k, v in op.items() if k not in ("voltage_v", "clocks_hz", "power_w")})
                for name, op in self.data["operating_points"].items()]

    def operating_point(self, clock: str, freq_hz: float | None = None, name: str | None = None) -> OperatingPoint:
        """The point named `name`, else the lowest-voltage point whose `clock` reaches
        `freq_hz`, else (no request) the fastest point."""
        points = self.operating_points
        if name is not None:
            for op in points:
                if op.name == name:
                    return op
            raise ProfileError(f"{self.path.name}: no operating point {name!r}; "
                               f"choose one of {[op.name for op in points]}")
        if freq_hz is None:
            return max(points, key=lambda op: op.clocks_hz[clock])
        fitting = [op for op in points if op.clocks_hz[clock] >= freq_hz * (1 - 1e-9)]
        if not fitting:
            top = max(op.clocks_hz[clock] for op in points)
            raise ProfileError(f"{self.path.name}: {freq_hz / 1e6:g} MHz exceeds the {clock!r} clock's "
                               f"maximum {top / 1e6:g} MHz; ask for a lower frequency")
        return min(fitting, key=lambda op: (op.voltage_v or 0.0, op.clocks_hz[clock]))


def profile_names(directory: Path = PROFILE_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.toml"))


def load_profile(name_or_path: str | Path, directory: Path = PROFILE_DIR) -> Profile:
    """Load and validate a profile by name (``gap8``) or by path to a .toml file."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = directory / f"{name_or_path}.toml"
        if not path.exists():
            raise ProfileError(f"unknown device {str(name_or_path)!r}; known devices: "
                               f"{', '.join(profile_names(directory))} (`edgert devices` lists them)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: cannot read the profile: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path.name}: not valid TOML: {exc}") from exc
    return _Validator(path, raw).profile()


def load_all(directory: Path = PROFILE_DIR) -> list[Profile]:
    return [load_profile(name, directory) for name in profile_names(directory)]


class _Validator:
    """Checks one parsed TOML document and builds the Profile; every error names the field."""

    def __init__(self, path: Path, raw: dict):
        self.path, self.raw = path, raw
        self.sources: dict[str, str] = {}
        self.references: dict = {}

    def fail(self, field: str, problem: str):
        raise ProfileError(f"{self.path.name}: field {field!r}: {problem}")

    def profile(self) -> Profile:
        raw = self.raw
        for key in raw:
            if key not in TOP_LEVEL:
                self.fail(key, f"unknown top-level field; allowed: {', '.join(sorted(TOP_LEVEL))}")
        if raw.get("schema") != SCHEMA_VERSION:
            self.fail("schema", f"must be {SCHEMA_VERSION}, got {raw.get('schema')!r}")
        for key in ("name", "kind", "title"):
            self.string(raw, key, key)
        if raw["name"] != self.path.stem:
            self.fail("name", f"{raw['name']!r} must equal the file name {self.path.stem!r}")
        summary = raw.get("summary", "")
        if not isinstance(summary, str):
            self.fail("summary", "must be a string")
        self.references = self.table(raw, "references", "references")
        for key, text in self.references.items():
            if not isinstance(text, str) or not text.strip():
                self.fail(f"references.{key}", "must be a non-empty string citing the source")

        data = {"units": self.units(), "memory": self.memory(), "operating_points": self.operating_points()}
        for section in ("dma", "power", "energy_pj", "timing", "params"):
            if section in raw:
                data[section] = self.tree(self.table(raw, section, section), (section,), section)
        self.check_dma(data)
        return Profile(raw["name"], raw["kind"], raw["title"], summary, self.path, data, self.sources)

    # -- sections -------------------------------------------------------------------------

    def units(self) -> dict:
        units = self.table(self.raw, "units", "units")
        if not units:
            self.fail("units", "at least one compute unit is required")
        out = {}
        for name, unit in units.items():
            where = f"units.{name}"
            if not isinstance(unit, dict):
                self.fail(where, "must be a table")
            out[name] = self.tree(unit, ("units", name), where)
            cores = out[name].get("cores")
            if not isinstance(cores, int) or isinstance(cores, bool) or cores < 1:
                self.fail(f"{where}.cores", "must be a positive integer quantity")
            self.string(unit, "clock", f"{where}.clock")
        return out

    def named_tables(self, key: str, what: str, hint: str):
        """Yield (where, name, table, values) for each table of the array `key` ([[key]] in TOML), with
        the checks every such array shares: non-empty, tables, unique names, sourced values."""
        tables = self.raw.get(key)
        if not isinstance(tables, list) or not tables:
            self.fail(key, f"must be a non-empty array of tables ([[{key}]]){hint}")
        seen = set()
        for i, table in enumerate(tables):
            where = f"{key}[{i}]"
            if not isinstance(table, dict):
                self.fail(where, "must be a table")
            name = self.string(table, "name", f"{where}.name")
            if name in seen:
                self.fail(f"{where}.name", f"duplicate {what} {name!r}")
            seen.add(name)
            yield where, name, table, self.tree({k: v for k, v in table.items() if k != "name"}, (key, name), where)

    def memory(self) -> dict:
        out = {}
        for where, name, level, values in self.named_tables("memory", "memory level", ", nearest level first"):
            if level.get("kind") not in MEMORY_KINDS:
                self.fail(f"{where}.kind", f"must be one of {MEMORY_KINDS}, got {level.get('kind')!r}")
            size = values.get("size_bytes")
            if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
                self.fail(f"{where}.size_bytes", "must be a positive integer quantity")
            out[name] = values
        return out

    def operating_points(self) -> dict:
        clocks = {unit["clock"] for unit in self.raw["units"].values()}
        out = {}
        for where, name, _, values in self.named_tables("operating_points", "operating point", ""):
            for clock in sorted(clocks):
                hz = values.get("clocks_hz", {}).get(clock) if isinstance(values.get("clocks_hz"), dict) else None
                if not _positive(hz):
                    self.fail(f"{where}.clocks_hz.{clock}", "every clock domain named by a unit needs a positive frequency")
            if "voltage_v" in values and not _positive(values["voltage_v"]):
                self.fail(f"{where}.voltage_v", "must be a positive number")
            out[name] = values
        return out

    def check_dma(self, data: dict):
        for name, engine in data.get("dma", {}).items():
            for end in ("from", "to"):
                if engine.get(end) not in data["memory"]:
                    self.fail(f"dma.{name}.{end}", f"must name a memory level, one of {list(data['memory'])}")

    # -- leaves -----------------------------------------------------------------------------

    def tree(self, table: dict, path: tuple, shown: str) -> dict:
        """Unwrap {value, source} leaves into plain values, recording each source by path.
        `shown` is the field name used in messages (the TOML spelling, e.g. memory[0])."""
        out = {}
        for key, item in table.items():
            sub, sub_shown = (*path, key), f"{shown}.{key}"
            if isinstance(item, dict) and "value" in item:
                out[key] = self.quantity(item, sub, sub_shown)
            elif isinstance(item, dict):
                out[key] = self.tree(item, sub, sub_shown)
            elif isinstance(item, str):
                out[key] = item
            elif isinstance(item, list) and all(isinstance(x, str) for x in item):
                out[key] = list(item)
            else:
                self.fail(sub_shown, f"a number or flag must be written {{value = {item!r}, source = \"...\"}}")
        return out

    def quantity(self, item: dict, path: tuple, shown: str):
        extra = set(item) - {"value", "source", "note"}
        if extra:
            self.fail(shown, f"unexpected keys {sorted(extra)}; a quantity has value, source and optional note")
        value = item["value"]
        if not isinstance(value, (int, float, bool)):
            self.fail(f"{shown}.value", f"must be a number or true/false, got {value!r}")
        if isinstance(value, float) and value != value:
            self.fail(f"{shown}.value", "must not be NaN")
        source = item.get("source")
        if not isinstance(source, str) or not source.strip():
            self.fail(f"{shown}.source", "every number needs a source: a [references] key, "
                                         "'estimated: why' or 'derived: arithmetic'")
        key = source.split(":", 1)[0].strip()
        if key not in ("estimated", "derived") and key not in self.references:
            self.fail(f"{shown}.source", f"{key!r} is not in [references] and is not 'estimated' or 'derived'")
        self.sources[path] = source
        return value

    def table(self, raw: dict, key: str, where: str) -> dict:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            self.fail(where, "must be a table")
        return value

    def string(self, raw: dict, key: str, where: str) -> str:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(where, "must be a non-empty string")
        return value


def _parts(path: str | tuple) -> tuple:
    return tuple(path.split(".")) if isinstance(path, str) else tuple(path)


def _dotted(path: str | tuple) -> str:
    return path if isinstance(path, str) else ".".join(path)


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0
