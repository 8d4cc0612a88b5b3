"""TFLite PoseNet (float or quantized) -> Network with float32 weights.

Reading a TFLite file back into a Network is what lets a quantized Coral
model run at another input size or output stride, or as float. The graph is
walked from the input along the CONV_2D / DEPTHWISE_CONV_2D chain; where it
forks, the 1x1 convs named after the heads are taken (Coral's `heatmap_2`,
`offset_2`, `displacement_fwd_2` / `_bwd_2`; Google's `float_heatmaps`,
`float_short_offsets`, `float_mid_offsets` split into fwd / bwd; this
package's own `heatmap`, `offset_2` ...). Coral's `PosenetDecoderOp` and
segmentation heads are ignored.

Quantized models (POSENET.md §6): weights are dequantized per tensor or per
channel, `(q - zero_point) * scale`; int32 biases are rescaled by
`input_scale * weight_scale`, the scale the kernels use; and since such
models express ReLU6 through the output range of a layer (fused activation
NONE, range [0, 6]) rather than an op, that range is turned back into ReLU6.
Head output ranges (Coral clips heatmaps to about +-6 and offsets to +-50)
are quantization artefacts, not part of the network, and are dropped.
Edge TPU files hold TPU code instead of weights and are refused.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from .._inputs import MAX_MODEL_BYTES, read_input
from ..errors import PosenetError
from ..keypoints import NUM_EDGES
from ..network import HEAD_NAMES, Network, heads_from, match_heads, mobilenet_v1_body
from ..tflite.flatbuffer import (
    POSENET_DECODER_OP,
    TENSOR_TYPE_NAMES,
    custom_ops,
    is_edgetpu,
    op_name,
    read_model,
)
from ..tflite.validate import validate

__all__ = ["read_tflite"]

log = logging.getLogger(__name__)

_TYPES = schema.TensorType
_INT_RANGES = {_TYPES.UINT8: (0, 255), _TYPES.INT8: (-128, 127), _TYPES.INT16: (-32768, 32767)}
_NUMPY = {
    _TYPES.FLOAT32: "<f4",
    _TYPES.FLOAT16: "<f2",
    _TYPES.UINT8: "u1",
    _TYPES.INT8: "i1",
    _TYPES.INT16: "<i2",
    _TYPES.INT32: "<i4",
    _TYPES.INT64: "<i8",
}
_ACT = schema.ActivationFunctionType
_PASS_THROUGH = {"QUANTIZE", "DEQUANTIZE"}
_CONVS = {"CONV_2D", "DEPTHWISE_CONV_2D"}


def read_tflite(path: Path) -> Network:
    """Read a PoseNet .tflite (float, uint8 / int8 quantized, Coral `_quant_decoder`)."""
    source = str(path)
    model = read_model(read_input(path, MAX_MODEL_BYTES, "model file"), source)
    if is_edgetpu(model):
        raise PosenetError(
            f"{source}: an Edge TPU model: its layers are compiled into an edgetpu-custom-op "
            "and hold no CPU weights; use the same model without '_edgetpu'"
        )
    others = {op.code for op in custom_ops(model)} - {POSENET_DECODER_OP}
    if others:
        raise PosenetError(f"{source}: custom op(s) {', '.join(sorted(others))} hide the network")
    validate(model, source)  # the walk below follows its indices
    reader = _Reader(model, source)
    return reader.network(name=Path(path).stem)


class _Reader:
    def __init__(self, model: schema.ModelT, source: str) -> None:
        self.model = model
        self.graph = model.subgraphs[0]
        self.source = source
        self.producer: dict[int, schema.OperatorT] = {}
        self.consumers: dict[int, list[schema.OperatorT]] = {}
        for op in self.graph.operators or []:
            for t in op.outputs:
                self.producer[int(t)] = op
            for t in op.inputs:
                if t >= 0:
                    self.consumers.setdefault(int(t), []).append(op)

    def fail(self, message: str) -> PosenetError:
        return PosenetError(f"{self.source}: {message}")

    def name(self, op: schema.OperatorT) -> str:
        return op_name(self.model, op.opcodeIndex)

    def tensor_name(self, index: int) -> str:
        return (self.graph.tensors[index].name or b"").decode("utf-8", "replace")

    def next_ops(self, tensor: int) -> list[schema.OperatorT]:
        """Consumers of a tensor, through QUANTIZE / DEQUANTIZE."""
        found = []
        for op in self.consumers.get(tensor, []):
            if self.name(op) in _PASS_THROUGH:
                found.extend(self.next_ops(int(op.outputs[0])))
            elif self.name(op) != "CUSTOM" and self.name(op) != POSENET_DECODER_OP:
                found.append(op)
        return found

    def network(self, name: str) -> Network:
        ops = {self.name(op) for op in self.graph.operators or []}
        if not ops & _CONVS:
            raise self.fail(
                f"holds no convolutions (ops: {', '.join(sorted(ops)) or 'none'}): "
                "not a PoseNet network"
            )
        inputs = list(self.graph.inputs)
        if len(inputs) != 1:
            raise self.fail(f"expected one image input, found {len(inputs)}")
        self._check_input(int(inputs[0]))
        current = int(inputs[0])
        units = []
        while True:
            nxt = self.next_ops(current)
            if len(nxt) != 1:
                break
            op, pad = nxt[0], None
            if self.name(op) == "PAD":
                pad = op
                nxt = self.next_ops(int(op.outputs[0]))
                if len(nxt) != 1 or self.name(nxt[0]) not in _CONVS:
                    raise self.fail("a PAD op not followed by a convolution")
                op = nxt[0]
            if self.name(op) not in _CONVS:
                raise self.fail(
                    f"unexpected {self.name(op)} op in the body (expected convolutions)"
                )
            units.append(self.unit(op, pad, body=True))
            current = int(op.outputs[0])
        if not units:
            raise self.fail("no convolution follows the input (not a PoseNet model)")
        heads = self.heads(current)
        body = mobilenet_v1_body(
            [(u["weights"], u["bias"]) for u in units],
            [(u["stride"], u["dilation"]) for u in units],
            [u["activation"] for u in units],
            source=self.source,
        )
        kinds = {TENSOR_TYPE_NAMES.get(self.graph.tensors[u["weights_index"]].type) for u in units}
        weights = "/".join(sorted(k or "?" for k in kinds))
        return Network(
            name=name,
            body=body,
            heads=heads_from(heads, self.source),
            native_output_stride=int(np.prod([u["stride"] for u in units])),
            description=f"TFLite model {Path(self.source).name} ({weights} weights)",
        )

    def _check_input(self, index: int) -> None:
        tensor = self.graph.tensors[index]
        shape = list(tensor.shape) if tensor.shape is not None else []
        if len(shape) != 4 or shape[3] != 3:
            raise self.fail(f"input has shape {shape}, expected [1, H, W, 3]")
        if tensor.type in _INT_RANGES:
            lo, hi = self._real_range(index)
            if lo < -1.02 or hi > 1.02 or hi - lo < 0.5:
                raise self.fail(
                    f"quantized input covers [{lo:.3g}, {hi:.3g}]; PoseNet expects [-1, 1]"
                )

    def _quant(self, index: int) -> tuple[np.ndarray, np.ndarray, int]:
        """(scales, zero points, quantized dimension) of a tensor; empty if not quantized."""
        q = self.graph.tensors[index].quantization
        if q is None or q.scale is None or len(q.scale) == 0:
            return np.zeros(0), np.zeros(0, np.int64), 0
        scale = np.asarray(q.scale, dtype=np.float64)
        zero = np.asarray(q.zeroPoint if q.zeroPoint is not None else [], dtype=np.int64)
        if zero.size == 0:  # no zero points written: all 0
            zero = np.zeros(scale.size, np.int64)
        return scale, zero, int(q.quantizedDimension)

    def _real_range(self, index: int) -> tuple[float, float]:
        tensor = self.graph.tensors[index]
        scale, zero, _ = self._quant(index)
        if scale.size == 0:
            raise self.fail(f"tensor {self.tensor_name(index)} is integer but not quantized")
        qmin, qmax = _INT_RANGES[tensor.type]
        return float(scale[0] * (qmin - zero[0])), float(scale[0] * (qmax - zero[0]))

    def constant(self, index: int) -> np.ndarray:
        """A constant tensor as float64 (dequantized); follows a DEQUANTIZE of a constant."""
        tensor = self.graph.tensors[index]
        buffer = (
            self.model.buffers[tensor.buffer] if tensor.buffer < len(self.model.buffers) else None
        )
        if buffer is None or buffer.data is None or len(buffer.data) == 0:
            op = self.producer.get(index)
            if op is not None and self.name(op) == "DEQUANTIZE":
                return self.constant(int(op.inputs[0]))
            raise self.fail(f"tensor {self.tensor_name(index)} should hold weights but is empty")
        if tensor.type not in _NUMPY:
            raise self.fail(
                f"tensor {self.tensor_name(index)}: type {TENSOR_TYPE_NAMES.get(tensor.type)}"
            )
        raw = np.frombuffer(bytes(bytearray(buffer.data)), dtype=_NUMPY[tensor.type])
        raw = raw.reshape([int(d) for d in tensor.shape])
        scale, zero, axis = self._quant(index)
        if tensor.type in (_TYPES.FLOAT32, _TYPES.FLOAT16, _TYPES.INT32, _TYPES.INT64):
            return raw.astype(np.float64)
        if scale.size == 0:
            raise self.fail(f"tensor {self.tensor_name(index)} is integer but not quantized")
        shape = [1] * raw.ndim
        if scale.size > 1:
            shape[axis] = scale.size
        return (raw.astype(np.float64) - zero.reshape(shape)) * scale.reshape(shape)

    def unit(self, op: schema.OperatorT, pad: schema.OperatorT | None, body: bool) -> dict:
        kind = self.name(op)
        options = op.builtinOptions
        where = f"{kind} -> {self.tensor_name(int(op.outputs[0]))}"
        if options.strideH != options.strideW:
            raise self.fail(f"{where}: strides {options.strideH}x{options.strideW} differ")
        if options.dilationHFactor != options.dilationWFactor:
            raise self.fail(f"{where}: dilations differ between height and width")
        weight_index, bias_index = int(op.inputs[1]), int(op.inputs[2])
        raw = self.constant(weight_index)
        if raw.ndim != 4:
            raise self.fail(f"{where}: weights of shape {list(raw.shape)}, expected 4-D")
        if kind == "DEPTHWISE_CONV_2D":
            if raw.shape[0] != 1 or getattr(options, "depthMultiplier", 1) not in (0, 1):
                raise self.fail(f"{where}: depth multiplier must be 1")
            weights = raw[0][..., np.newaxis]  # 1HWC -> HWC1
        else:
            weights = raw.transpose(1, 2, 3, 0)  # OHWI -> HWIO
        kh, kw = weights.shape[:2]
        self._check_padding(options, pad, (kh, kw), options.dilationHFactor, where)
        bias = self._bias(op, bias_index, weight_index)
        activation = self._activation(op, options, body, where)
        return {
            "weights": weights.astype(np.float32),
            "bias": bias.astype(np.float32),
            "stride": int(options.strideH),
            "dilation": int(options.dilationHFactor),
            "activation": activation,
            "weights_index": weight_index,
            "output": int(op.outputs[0]),
        }

    def _check_padding(self, options, pad, kernel, dilation: int, where: str) -> None:
        """SAME, or an explicit symmetric PAD + VALID conv (the K210 layout, same numbers)."""
        one_by_one = kernel == (1, 1)
        if pad is None:
            if options.padding != schema.Padding.SAME and not (one_by_one and options.strideH == 1):
                raise self.fail(f"{where}: VALID padding (PoseNet convolutions are SAME)")
            return
        amounts = self.constant(int(pad.inputs[1])).astype(int).tolist()
        half = (kernel[0] - 1) * dilation // 2
        if options.padding != schema.Padding.VALID or amounts != [
            [0, 0],
            [half, half],
            [half, half],
            [0, 0],
        ]:
            raise self.fail(f"{where}: PAD {amounts} is not the symmetric pad of a SAME conv")
        log.debug("%s: explicit PAD + VALID read as SAME (exact for odd input sizes)", where)

    def _bias(self, op: schema.OperatorT, bias_index: int, weight_index: int) -> np.ndarray:
        tensor = self.graph.tensors[bias_index]
        raw = self.constant(bias_index)
        if tensor.type != _TYPES.INT32:
            return raw
        input_scale, _, _ = self._quant(int(op.inputs[0]))
        weight_scale, _, _ = self._quant(weight_index)
        if input_scale.size == 0 or weight_scale.size == 0:
            raise self.fail(f"int32 bias {self.tensor_name(bias_index)} without quantized inputs")
        return raw * (input_scale[0] * weight_scale)

    def _activation(self, op: schema.OperatorT, options, body: bool, where: str) -> str:
        fused = options.fusedActivationFunction
        output = int(op.outputs[0])
        if fused == _ACT.RELU6:
            return "relu6"
        if fused not in (_ACT.NONE, _ACT.RELU):
            raise self.fail(f"{where}: fused activation {fused} (PoseNet uses ReLU6)")
        if self.graph.tensors[output].type in _INT_RANGES and body:
            lo, hi = self._real_range(output)
            scale = self._quant(output)[0][0]
            if abs(lo) <= scale and abs(hi - 6.0) <= 2 * scale:
                return "relu6"  # ReLU6 written as the output range (POSENET.md §6)
        if fused == _ACT.RELU:
            raise self.fail(f"{where}: ReLU without a [0, 6] output range (PoseNet uses ReLU6)")
        return "none"

    def heads(self, tensor: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The head convolutions (1x1) reading `tensor`, by role (network.match_heads)."""
        units = []
        for op in self.next_ops(tensor):
            if self.name(op) != "CONV_2D":
                continue
            unit = self.unit(op, None, body=False)
            if unit["weights"].shape[:2] == (1, 1):
                units.append((self.tensor_name(unit["output"]), unit))
        try:
            roles = match_heads([(name, u["weights"].shape[3]) for name, u in units])
        except PosenetError as exc:
            raise self.fail(str(exc).replace("tensors", "convolutions")) from None
        found = {role: (units[i][1]["weights"], units[i][1]["bias"]) for role, i in roles.items()}
        if "mid" in found:
            w, b = found.pop("mid")
            found["displacement_fwd"] = (w[..., : 2 * NUM_EDGES], b[: 2 * NUM_EDGES])
            found["displacement_bwd"] = (w[..., 2 * NUM_EDGES :], b[2 * NUM_EDGES :])
        missing = [h for h in HEAD_NAMES if h not in found]
        if missing:
            raise self.fail(f"no {' / '.join(missing)} head after the body")
        return found
