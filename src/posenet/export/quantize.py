"""Full-integer post-training quantization with LiteRT's bundled TFLite calibrator.

LiteRT ships TFLite's calibrator as the private extension
`ai_edge_litert._pywrap_tensorflow_lite_calibration_wrapper` (POSENET.md §8).
It is the same code TensorFlow's converter runs for `representative_dataset`,
so the project gets int8 models without a 270 MB TensorFlow install and
without a quantizer of its own. Being private, it is touched only here, in
one function with a test (tests/test_export.py) that notices when a LiteRT
release changes it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..errors import PosenetError

__all__ = ["INTEGER_TYPES", "quantize_full_integer"]

#: Input/output types of a full-integer model -> numpy dtype number the calibrator takes.
INTEGER_TYPES: dict[str, int] = {"int8": np.dtype(np.int8).num, "uint8": np.dtype(np.uint8).num}
_INT8 = np.dtype(np.int8).num
_INT32 = np.dtype(np.int32).num


def quantize_full_integer(
    model: bytes, samples: Iterable[np.ndarray], io_type: str = "int8"
) -> bytes:
    """A float32 TFLite model quantized to int8 throughout, calibrated on samples.

    model: float32 TFLite bytes with one input.
    samples: float32[1, H, W, C] input tensors exactly as the float model takes
        them (for PoseNet: pixels / 127.5 - 1); their ranges set every
        activation's scale, so they should look like the images the model will
        see. At least one is needed.
    io_type: "int8" keeps int8 at the input and outputs (what integer-only
        accelerators and microcontrollers want); "uint8" makes them uint8, for
        which LiteRT adds QUANTIZE ops at both ends.
    Weights are int8 per channel, biases int32, activations int8; no op is
    left in float. Raises PosenetError for an unknown io_type, no samples or a
    model the calibrator rejects.
    """
    if io_type not in INTEGER_TYPES:
        raise PosenetError(f"integer type {io_type!r} is not one of {tuple(INTEGER_TYPES)}")
    from ai_edge_litert._pywrap_tensorflow_lite_calibration_wrapper import CalibrationWrapper

    from ..tflite.validate import check_runnable

    check_runnable(model)

    try:
        calibrator = CalibrationWrapper(model, [], [])
        prepared = False
        for sample in samples:
            tensor = np.ascontiguousarray(sample, dtype=np.float32)
            if not prepared:
                calibrator.Prepare([list(tensor.shape)])
                prepared = True
            calibrator.FeedTensor([tensor])
        if not prepared:
            raise PosenetError("quantization needs at least one calibration sample")
        code = INTEGER_TYPES[io_type]
        # (input type, output type, allow float, activations, bias, no per-channel, no
        # per-channel for dense): TFLite's converter passes the same for int8 PTQ.
        quantized = calibrator.QuantizeModel(code, code, False, _INT8, _INT32, False, False)
    except (RuntimeError, ValueError) as exc:
        raise PosenetError(f"quantization failed: {str(exc).strip().splitlines()[0]}") from None
    return bytes(quantized)
