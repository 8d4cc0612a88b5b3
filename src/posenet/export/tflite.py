"""Network -> a TFLite file to ship: float32, float16 weights, or full-integer int8 / uint8.

Float32 and float16 come straight from the builder. The integer models are
the float32 build quantized after training by TFLite's own calibrator
(export.quantize), fed with calibration images prepared exactly as the
Runtime prepares camera frames (stretched to the input size, x / 127.5 - 1),
so the activation ranges it measures are the ones the model will meet.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import PosenetError
from ..network import Network
from ..tflite.build import build_tflite
from .quantize import quantize_full_integer

__all__ = ["QUANTIZATIONS", "export_tflite", "needs_calibration"]

#: --quantize values and what each writes; the CLI's help and errors read this table.
QUANTIZATIONS: dict[str, str] = {
    "none": "float32 weights and activations",
    "float16": "float16 weights (half the size), float32 compute",
    "int8": "full-integer: int8 weights, activations, input and outputs (calibrated)",
    "uint8": "full-integer int8 inside, uint8 input and outputs (calibrated)",
}


def needs_calibration(quantize: str) -> bool:
    """Whether a quantization measures activation ranges on calibration images."""
    return quantize in ("int8", "uint8")


def export_tflite(
    network: Network,
    input_size: tuple[int, int],
    output_stride: int,
    quantize: str = "none",
    calibration: Sequence[np.ndarray] = (),
) -> bytes:
    """TFLite bytes of network at input_size (height, width) and output_stride.

    quantize: a QUANTIZATIONS key. calibration: uint8[H, W, 3] images already
    fitted to input_size; required (non-empty) for int8 and uint8, ignored
    otherwise. Raises PosenetError for an unknown quantization, missing
    calibration images or an impossible size or stride.
    """
    if quantize not in QUANTIZATIONS:
        raise PosenetError(
            f"unknown quantization {quantize!r}; choose one of {', '.join(QUANTIZATIONS)}"
        )
    float_model = build_tflite(
        network, input_size, output_stride, float16_weights=quantize == "float16"
    )
    if not needs_calibration(quantize):
        return float_model
    if not calibration:
        raise PosenetError(f"{quantize} quantization needs calibration images")
    for image in calibration:
        if image.shape != (*input_size, 3) or image.dtype != np.uint8:
            raise PosenetError(
                f"calibration image is {image.dtype}{list(image.shape)}, "
                f"expected uint8{[*input_size, 3]}"
            )
    samples = (image[np.newaxis].astype(np.float32) / 127.5 - 1.0 for image in calibration)
    return quantize_full_integer(float_model, samples, quantize)
