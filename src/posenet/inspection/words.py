"""Short human wording of numbers, shapes, quantization and values, shared by renderers.

The text and HTML renderers show the same report; writing each fact the same
way in both keeps them comparable, and the JSON keeps the exact numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

from .report import Quantization, Values

__all__ = [
    "count",
    "human",
    "macs",
    "nbytes",
    "quantization",
    "shape",
    "size",
    "size_origin",
    "values",
]


def human(n: float | None, unit: str = "") -> str:
    """1234567 -> '1.23 M'; None -> '?'."""
    if n is None:
        return "?"
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.3g} {prefix}{unit}".rstrip()
    return f"{n:g} {unit}".rstrip()


def count(n: int | None) -> str:
    """Exact count with thousands separators, '?' for unknown."""
    return "?" if n is None else f"{n:,}"


def macs(n: int | None) -> str:
    return "?" if n is None else ("0" if n == 0 else human(n))


def nbytes(n: int | None) -> str:
    """Bytes, exact and in binary units."""
    if n is None:
        return "?"
    if n < 1024:
        return f"{n} B"
    for factor, unit in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= factor:
            return f"{n:,} B ({n / factor:.3g} {unit})"
    return f"{n:,} B"


def shape(dims: Sequence[int] | None) -> str:
    """(1, 23, 31, 17) -> '1x23x31x17'; () -> 'scalar'; None -> '?'."""
    if dims is None:
        return "?"
    if len(dims) == 0:
        return "scalar"
    return "x".join("?" if d < 0 else str(d) for d in dims)


def size(hw: Sequence[int] | None) -> str:
    return "?" if not hw else f"{hw[0]}x{hw[1]}"


def size_origin(size_from: str) -> str:
    """Where a report's input size comes from, in words."""
    if size_from == "default":
        return "a default: the file leaves the size open"
    return f"from {size_from}"


def quantization(q: Quantization | None) -> str:
    """One line: 'scale 0.0235, zero point 0, range [0, 6]' or its per-axis form."""
    if q is None:
        return ""
    if q.scheme == "min-scale":
        return f"{q.stored}: q * {q.scale[0]:.4g} + {q.min[0]:.4g}" if q.scale and q.min else ""
    if not q.scale:
        if q.min and q.max:
            return f"range [{q.min[0]:.4g}, {q.max[0]:.4g}] (no scale)"
        return ""
    if q.per_axis:
        zps = sorted(set(q.zero_point)) or [0]  # none written: all 0
        zp = str(zps[0]) if len(zps) == 1 else f"{min(zps)}..{max(zps)}"
        return (
            f"per-axis (dim {q.axis}, {len(q.scale)} channels): scale "
            f"{min(q.scale):.3g}..{max(q.scale):.3g}, zero point {zp}"
        )
    text = f"scale {q.scale[0]:.6g}, zero point {q.zero_point[0] if q.zero_point else 0}"
    if q.min and q.max:
        text += f", range [{q.min[0]:.4g}, {q.max[0]:.4g}]"
    return text


def values(v: Values | None) -> str:
    """'[-1.40, 1.42] mean 0.0031' for a constant tensor."""
    if v is None:
        return ""
    text = f"[{v.minimum:.4g}, {v.maximum:.4g}] mean {v.mean:.3g}"
    if v.zeros and v.zeros == v.count:
        text += " (all zero)"
    return text
