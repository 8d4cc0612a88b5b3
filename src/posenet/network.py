"""Network: one plain description of a PoseNet body and its four heads.

Every reader in `posenet.formats` produces a Network and the TFLite builder
consumes one, so a model published as TF.js JSON, a 1.x checkpoint, a frozen
GraphDef or a (quantized) TFLite file becomes the same data: per layer its kind,
kernel, stride, dilation, activation and float32 weights. Changing the input
size or the output stride means building again from the Network, never
patching a model file (ARCHITECTURE.md).

Weight layout, one for every layer (TensorFlow's own, so that TF sources need no
transposing):

- conv / pointwise / head: float32[kh, kw, in, out]  (HWIO)
- depthwise:               float32[kh, kw, channels, 1] (HWCM, multiplier 1)
- bias:                    float32[out]

Channel counts are read from the weights, never stored twice.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import PosenetError
from .keypoints import NUM_EDGES, NUM_KEYPOINTS

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_GEOMETRY",
    "HEAD_CHANNELS",
    "HEAD_NAMES",
    "HEAD_TENSOR_NAMES",
    "LAYER_KINDS",
    "MAX_DILATION",
    "MAX_WEIGHT",
    "MOBILENET_V1_LAYERS",
    "OUTPUT_STRIDES",
    "RETARGET_GEOMETRIES",
    "Layer",
    "Network",
    "atrous_geometry",
    "heads_from",
    "match_heads",
    "mobilenet_v1_body",
    "with_output_stride",
]

#: Output strides a PoseNet model can be built for (POSENET.md §2).
OUTPUT_STRIDES: tuple[int, ...] = (8, 16, 32)

#: Largest dilation: at the largest input (4097) and stride 8 the grid is 513 cells, so a
#: 3x3 kernel dilated by more than 512 sees nothing but padding beside its centre.
MAX_DILATION = 512

#: Largest weight or bias magnitude accepted: the published PoseNets reach 224, so a
#: million is damage (a flipped exponent bit gives 1e38), not training.
MAX_WEIGHT = 1e6

#: Layer kinds; "head" is a 1x1 conv without activation on the last body layer.
LAYER_KINDS: tuple[str, ...] = ("conv", "depthwise", "pointwise", "head")

#: Activations a layer can end in.
ACTIVATIONS: tuple[str, ...] = ("relu6", "none")

#: The four PoseNet heads, in this order, and their channel counts.
HEAD_NAMES: tuple[str, ...] = ("heatmap", "offsets", "displacement_fwd", "displacement_bwd")
HEAD_CHANNELS: dict[str, int] = {
    "heatmap": NUM_KEYPOINTS,
    "offsets": 2 * NUM_KEYPOINTS,
    "displacement_fwd": 2 * NUM_EDGES,
    "displacement_bwd": 2 * NUM_EDGES,
}

#: What each head's tensor is called in the model files the project reads (one component
#: of the name, split at / and :): Coral's `MobilenetV1/heatmap_2/BiasAdd`,
#: `MobilenetV1/offset_2/BiasAdd` and `concat`; Google's `float_heatmaps`,
#: `float_short_offsets`, `float_mid_offsets`; this package's builds `heatmap`, `offset_2`,
#: `displacement_fwd_2`, `displacement_bwd_2`. "mid" is fwd | bwd in one 64-channel tensor.
HEAD_TENSOR_NAMES: dict[str, frozenset[str]] = {
    "heatmap": frozenset({"heatmap", "heatmap_2", "float_heatmaps"}),
    "offsets": frozenset({"offsets", "offset_2", "float_short_offsets"}),
    "displacement_fwd": frozenset({"displacement_fwd", "displacement_fwd_2"}),
    "displacement_bwd": frozenset({"displacement_bwd", "displacement_bwd_2"}),
    "mid": frozenset({"float_mid_offsets", "concat"}),
}
_ROLE_CHANNELS: dict[str, int] = {**HEAD_CHANNELS, "mid": 4 * NUM_EDGES}

#: Nominal stride of each of MobileNetV1's 13 depthwise-separable blocks.
_BLOCK_STRIDES: tuple[int, ...] = (1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1)

#: MobileNetV1 body as (TF variable scope, kind, nominal stride): the 3x3 conv,
#: then per block a 3x3 depthwise and a 1x1 pointwise conv.
MOBILENET_V1_LAYERS: tuple[tuple[str, str, int], ...] = (
    ("Conv2d_0", "conv", 2),
    *(
        layer
        for block, stride in enumerate(_BLOCK_STRIDES, start=1)
        for layer in (
            (f"Conv2d_{block}_depthwise", "depthwise", stride),
            (f"Conv2d_{block}_pointwise", "pointwise", 1),
        )
    ),
)


def _frozen(array: np.ndarray, what: str) -> np.ndarray:
    """A read-only float32 view (or copy) of array; the caller's array is untouched."""
    try:
        out = np.asarray(array, dtype=np.float32)
    except (TypeError, ValueError):
        raise PosenetError(f"network: {what} is not a numeric array") from None
    out = out.view()
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False)
class Layer:
    """One convolution of the network.

    name: the TF variable scope ("Conv2d_3_depthwise", "heatmap", ...), for messages.
    kind: one of LAYER_KINDS.
    weights: float32, layout in the module docstring.
    bias: float32[out].
    stride, dilation: what the builder uses (equal in both spatial directions).
    activation: "relu6" or "none".
    nominal_stride: MobileNetV1's stride for this layer; the atrous rule walks these.
    """

    name: str
    kind: str
    weights: np.ndarray
    bias: np.ndarray
    stride: int = 1
    dilation: int = 1
    activation: str = "relu6"
    nominal_stride: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", _frozen(self.weights, f"{self.name} weights"))
        object.__setattr__(self, "bias", _frozen(self.bias, f"{self.name} bias"))
        where = f"network: layer {self.name}"
        if self.kind not in LAYER_KINDS:
            raise PosenetError(f"{where}: kind {self.kind!r} is not one of {LAYER_KINDS}")
        if self.activation not in ACTIVATIONS:
            raise PosenetError(f"{where}: activation {self.activation!r} not in {ACTIVATIONS}")
        if self.weights.ndim != 4:
            raise PosenetError(f"{where}: weights must be 4-D, got shape {self.weights.shape}")
        kh, kw, _, multiplier = self.weights.shape
        if self.kind == "depthwise" and multiplier != 1:
            raise PosenetError(f"{where}: depthwise weights must be [kh, kw, C, 1]")
        if self.kind in ("pointwise", "head") and (kh, kw) != (1, 1):
            raise PosenetError(f"{where}: a {self.kind} layer must be 1x1, got {kh}x{kw}")
        if self.bias.shape != (self.out_channels,):
            raise PosenetError(
                f"{where}: bias has shape {self.bias.shape}, expected ({self.out_channels},)"
            )
        if not (np.isfinite(self.weights).all() and np.isfinite(self.bias).all()):
            raise PosenetError(f"{where}: weights contain NaN or Inf")
        peak = max(np.abs(self.weights).max(initial=0), np.abs(self.bias).max(initial=0))
        if peak > MAX_WEIGHT:
            raise PosenetError(f"{where}: weights reach {peak:.3g}, beyond {MAX_WEIGHT:.0e}")
        if not self.weights.any():
            raise PosenetError(f"{where}: weights are all zero")
        for field, value, allowed in (
            ("stride", self.stride, (1, 2)),
            ("nominal_stride", self.nominal_stride, (1, 2)),
        ):
            if value not in allowed:
                raise PosenetError(f"{where}: {field} {value} not in {allowed}")
        if not (isinstance(self.dilation, int) and 1 <= self.dilation <= MAX_DILATION):
            raise PosenetError(
                f"{where}: dilation must be an int from 1 to {MAX_DILATION}, got {self.dilation}"
            )

    @property
    def kernel(self) -> tuple[int, int]:
        """(kh, kw)."""
        return int(self.weights.shape[0]), int(self.weights.shape[1])

    @property
    def in_channels(self) -> int:
        return int(self.weights.shape[2])

    @property
    def out_channels(self) -> int:
        """Output channels; a depthwise layer keeps its input channels."""
        if self.kind == "depthwise":
            return int(self.weights.shape[2])
        return int(self.weights.shape[3])


@dataclass(frozen=True, eq=False)
class Network:
    """A PoseNet: MobileNetV1-style body + the four heads, as plain data.

    name: short identifier ("posenet-mobilenet-float-075").
    body: the conv, then depthwise/pointwise pairs, in order.
    heads: four 1x1 "head" layers in HEAD_NAMES order; the heatmap head gives
        logits (a source that ends in a sigmoid has it dropped by its reader).
    native_output_stride: the output stride of the source as published.
    description: one line about where it came from.
    input_range: the pixel range the first layer expects; every PoseNet
        source published uses (-1, 1), i.e. x / 127.5 - 1.
    """

    name: str
    body: tuple[Layer, ...]
    heads: tuple[Layer, ...]
    native_output_stride: int
    description: str = ""
    input_range: tuple[float, float] = (-1.0, 1.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "body", tuple(self.body))
        object.__setattr__(self, "heads", tuple(self.heads))
        object.__setattr__(self, "input_range", tuple(float(v) for v in self.input_range))
        where = f"network {self.name}"
        if not self.body or self.body[0].kind != "conv":
            raise PosenetError(f"{where}: the body must start with a conv layer")
        if self.body[0].in_channels != 3:
            raise PosenetError(
                f"{where}: the first layer takes {self.body[0].in_channels} channels, not RGB"
            )
        for prev, layer in zip(self.body, self.body[1:], strict=False):
            if layer.kind == "head":
                raise PosenetError(f"{where}: head layer {layer.name} inside the body")
            if layer.in_channels != prev.out_channels:
                raise PosenetError(
                    f"{where}: {layer.name} takes {layer.in_channels} channels but "
                    f"{prev.name} gives {prev.out_channels}"
                )
        names = tuple(h.name for h in self.heads)
        if names != HEAD_NAMES:
            raise PosenetError(f"{where}: heads must be {HEAD_NAMES}, got {names}")
        last = self.body[-1].out_channels
        for head in self.heads:
            if head.kind != "head" or head.activation != "none" or head.stride != 1:
                raise PosenetError(f"{where}: {head.name} must be a 1x1 head without activation")
            if head.in_channels != last:
                raise PosenetError(
                    f"{where}: head {head.name} takes {head.in_channels} channels, "
                    f"the body gives {last}"
                )
            if head.out_channels != HEAD_CHANNELS[head.name]:
                raise PosenetError(
                    f"{where}: head {head.name} has {head.out_channels} channels, "
                    f"expected {HEAD_CHANNELS[head.name]}"
                )
        if self.native_output_stride not in OUTPUT_STRIDES:
            raise PosenetError(
                f"{where}: native output stride {self.native_output_stride} not in {OUTPUT_STRIDES}"
            )

    @property
    def output_stride(self) -> int:
        """The output stride the layers as stored give: the product of their strides."""
        return int(np.prod([layer.stride for layer in self.body]))

    @property
    def layers(self) -> tuple[Layer, ...]:
        """Body then heads."""
        return self.body + self.heads

    def head(self, name: str) -> Layer:
        """The head called name (one of HEAD_NAMES)."""
        return self.heads[HEAD_NAMES.index(name)]

    def summary(self) -> str:
        """One line: name, channel widths, stride."""
        widths = sorted({layer.out_channels for layer in self.body})
        return (
            f"{self.name}: {len(self.body)} body layers, channels {widths[0]}..{widths[-1]}, "
            f"output stride {self.output_stride} (native {self.native_output_stride})"
        )


def atrous_geometry(
    nominal_strides: Sequence[int], output_stride: int
) -> tuple[tuple[int, int], ...]:
    """(stride, dilation) per layer for an output stride: POSENET.md §2's atrous rule.

    Walk the layers with current = 1, rate = 1: while current < output_stride a
    layer keeps its nominal stride and current *= stride; once current ==
    output_stride every later layer gets stride 1 and dilation rate, and then
    rate *= its nominal stride. Raises PosenetError when the nominal strides can
    never reach output_stride or output_stride is not in OUTPUT_STRIDES.
    """
    if output_stride not in OUTPUT_STRIDES:
        raise PosenetError(f"output stride {output_stride} is not one of {OUTPUT_STRIDES}")
    current, rate = 1, 1
    geometry = []
    for stride in nominal_strides:
        if current == output_stride:
            geometry.append((1, rate))
            rate *= stride
        else:
            geometry.append((stride, 1))
            current *= stride
    if current != output_stride:
        raise PosenetError(
            f"output stride {output_stride} is out of reach: the body's strides reach {current}"
        )
    return tuple(geometry)


#: The ways with_output_stride can re-target; the first is the default. "atrous" is
#: POSENET.md §2's rule.
RETARGET_GEOMETRIES: dict[str, str] = {
    "source": "keep each layer's tap spacing in input pixels as the source has it",
    "atrous": "POSENET.md §2's atrous rule on MobileNetV1's nominal strides (TF.js 1.x)",
}
#: The geometry of a re-targeted stride unless one is named: the one that keeps the
#: source's accuracy (README, "Output stride": COCO AP at strides 8, 16 and 32).
DEFAULT_GEOMETRY: str = next(iter(RETARGET_GEOMETRIES))


def with_output_stride(
    network: Network, output_stride: int, *, geometry: str = DEFAULT_GEOMETRY
) -> Network:
    """The network re-targeted to output_stride, with strides and dilations by `geometry`.

    Asking for the stride the layers already give returns the network
    unchanged, so a source's own strides and dilations are kept at its native
    stride (the published stride-16 graphs have no dilation in block 13 where
    the rule would put 2; tests/test_build.py pins this). Any other stride:

    - "source" (default): every 3x3 layer keeps the tap spacing, in input
      pixels, that it has in the network given, so the layers see what they
      were trained to see (`_source_geometry`). It equals "atrous" wherever the
      source follows the rule (checkpoints, BodyPix quant1-100) and differs for
      the stride-16 graphs without block-13 dilation (Coral's, `posenet.json`):
      at stride 8 their block 13 gets dilation 2 instead of 4, and at stride 32
      block 13 takes the extra stride instead of block 12, which keeps their
      COCO AP where the rule loses most of it (README, "Output stride").
    - "atrous": POSENET.md §2's rule on the nominal strides (kept until the
      output stride is reached, 1 afterwards) and its rates, i.e. what the
      nominal stride-32 network needs to keep its tap spacing in input pixels.

    1x1 layers always get dilation 1 (it has no effect on them). Raises
    PosenetError for a stride the body cannot reach or an unknown geometry.
    """
    if geometry not in RETARGET_GEOMETRIES:
        raise PosenetError(f"geometry {geometry!r} is not one of {tuple(RETARGET_GEOMETRIES)}")
    if output_stride == network.output_stride and output_stride in OUTPUT_STRIDES:
        return network
    if geometry == "source":
        if output_stride not in OUTPUT_STRIDES:
            raise PosenetError(f"output stride {output_stride} is not one of {OUTPUT_STRIDES}")
        chosen = _source_geometry(network.body, output_stride)
    else:
        chosen = atrous_geometry([layer.nominal_stride for layer in network.body], output_stride)
    body = tuple(
        dataclasses.replace(
            layer, stride=stride, dilation=dilation if layer.kernel != (1, 1) else 1
        )
        for layer, (stride, dilation) in zip(network.body, chosen, strict=True)
    )
    return dataclasses.replace(network, body=body)


def _source_geometry(body: Sequence[Layer], output_stride: int) -> list[tuple[int, int]]:
    """(stride, dilation) per layer for output_stride, keeping tap spacings where it can.

    A 3x3 layer's taps lie `cumulative stride before it * dilation` input
    pixels apart. For a finer output the latest stride-2 layers become stride
    1 and later layers dilate by the ratio (powers of two, so exact). For a
    coarser one each extra stride 2 goes to the earliest stride-1 3x3 layer
    after which every 3x3 layer can still keep its spacing, else to the last
    3x3 layer (nothing after it has taps to keep).
    """
    spacings, before = [], 1
    for layer in body:
        spacings.append(before * layer.dilation)
        before *= layer.stride
    strides = [layer.stride for layer in body]
    while math.prod(strides) > output_stride:
        strides[max(i for i, s in enumerate(strides) if s == 2)] = 1
    spatial = [i for i, layer in enumerate(body) if layer.kernel != (1, 1)]
    while math.prod(strides) < output_stride:
        free = [i for i in spatial if strides[i] == 1]
        if not free:
            raise PosenetError(
                f"output stride {output_stride} is out of reach: the body has no layer left "
                "to stride"
            )
        keeping = [i for i in free if _keeps_spacing(spacings, strides, spatial, i)]
        strides[keeping[0] if keeping else free[-1]] = 2
    geometry, before = [], 1
    for spacing, stride in zip(spacings, strides, strict=True):
        geometry.append((stride, max(1, spacing // before)))
        before *= stride
    return geometry


def _keeps_spacing(
    spacings: Sequence[int], strides: Sequence[int], spatial: Sequence[int], at: int
) -> bool:
    """True if striding layer `at` by 2 leaves every later 3x3 layer a whole dilation."""
    before = math.prod(strides[: at + 1]) * 2
    for i in range(at + 1, len(strides)):
        if i in spatial and spacings[i] % before:
            return False
        before *= strides[i]
    return True


def mobilenet_v1_body(
    weights: Sequence[tuple[np.ndarray, np.ndarray]],
    geometry: Sequence[tuple[int, int]] | None = None,
    activations: Sequence[str] | None = None,
    source: str = "model",
) -> tuple[Layer, ...]:
    """The 27 body layers of a MobileNetV1 PoseNet from (weights, bias) pairs in order.

    weights: per layer (HWIO or HWCM weights, bias), in MOBILENET_V1_LAYERS order.
    geometry: (stride, dilation) per layer as the source has it; None for a
        source without a graph (a checkpoint), which gets the nominal strides.
    activations: per layer, default all "relu6".
    Readers use this so that layer names, kinds and nominal strides come from
    one table; a body of another length raises PosenetError naming source.
    """
    if len(weights) != len(MOBILENET_V1_LAYERS):
        raise PosenetError(
            f"{source}: expected a MobileNetV1 body of {len(MOBILENET_V1_LAYERS)} conv layers, "
            f"found {len(weights)}"
        )
    if geometry is None:
        geometry = [(stride, 1) for _, _, stride in MOBILENET_V1_LAYERS]
    if activations is None:
        activations = ["relu6"] * len(MOBILENET_V1_LAYERS)
    return tuple(
        Layer(
            name=name,
            kind=kind,
            weights=w,
            bias=b,
            stride=int(stride),
            dilation=int(dilation),
            activation=activation,
            nominal_stride=nominal,
        )
        for (name, kind, nominal), (w, b), (stride, dilation), activation in zip(
            MOBILENET_V1_LAYERS, weights, geometry, activations, strict=True
        )
    )


def heads_from(
    weights: dict[str, tuple[np.ndarray, np.ndarray]], source: str = "model"
) -> tuple[Layer, ...]:
    """The four head layers from {head name: (HWIO weights, bias)}; missing ones raise."""
    missing = [name for name in HEAD_NAMES if name not in weights]
    if missing:
        raise PosenetError(f"{source}: no {', '.join(missing)} head found")
    return tuple(
        Layer(name=name, kind="head", weights=w, bias=b, activation="none")
        for name in HEAD_NAMES
        for w, b in [weights[name]]
    )


def match_heads(tensors: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Which of `tensors` ((name, channel count) pairs) is which head: {role: index}.

    A tensor is a head by its name (HEAD_TENSOR_NAMES) when its channel count is
    the head's; a head no name matched is the one left-over tensor with its channel
    count, if there is exactly one (decoys such as BodyPix's long offsets, which
    share a count with a named head, are then never guessed). Roles are those of
    HEAD_NAMES plus "mid" (both displacements in one tensor), which replaces the
    two displacement roles. Heads not found are simply absent; two tensors named
    for one head raise PosenetError.
    """
    found: dict[str, int] = {}
    unnamed: list[int] = []
    for index, (name, channels) in enumerate(tensors):
        parts = set(name.replace(":", "/").split("/"))
        roles = [r for r, names in HEAD_TENSOR_NAMES.items() if parts & names]
        if len(roles) != 1 or _ROLE_CHANNELS[roles[0]] != channels:
            unnamed.append(index)
        elif roles[0] in found:
            raise PosenetError(f"two tensors look like the {roles[0]} head")
        else:
            found[roles[0]] = index
    displacements = {"displacement_fwd", "displacement_bwd"}
    for role in ("heatmap", "offsets", "mid"):  # fwd and bwd share a count: names only
        if role in found or (role == "mid" and displacements <= found.keys()):
            continue
        same = [i for i in unnamed if tensors[i][1] == _ROLE_CHANNELS[role]]
        if len(same) == 1:
            found[role] = same[0]
    if "mid" in found:
        for role in displacements:
            found.pop(role, None)
    return found
