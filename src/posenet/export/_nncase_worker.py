"""nncase 1.x driver, run by posenet.export.k210 inside its own Python 3.10 venv.

nncase 1.x is the last release that targets the K210, and its wheels exist
for CPython 3.6 to 3.10 only, while posenet needs 3.11+; so the main process
writes a request into a folder and runs this script with the venv's Python.
It uses only the standard library, numpy and nncase, and keeps to syntax
Python 3.6 understands.

    python _nncase_worker.py compile WORKDIR
        reads model.tflite, calibration.npy (uint8 [N, 3, H, W], planar RGB)
        and request.json; writes model.kmodel and result.json with the KPU
        regions and memory use read from nncase's dump folder.
    python _nncase_worker.py simulate WORKDIR
        reads model.kmodel and inputs.npy (uint8 [N, 3, H, W]); runs each
        input in nncase.Simulator; writes output_<i>.npy ([N, ...] float32,
        in the kmodel's output order) and result.json.

Errors go to result.json as {"error": "..."} with exit status 3, so the
caller can quote nncase's own message.
"""

import json
import os
import re
import sys

import numpy as np


def compile_kmodel(work):
    import nncase

    with open(os.path.join(work, "request.json")) as f:
        request = json.load(f)
    samples = np.load(os.path.join(work, "calibration.npy"))
    count, channels, height, width = samples.shape
    options = nncase.CompileOptions()
    options.target = "k210"
    options.preprocess = True  # the kmodel takes uint8 pixels ...
    options.input_type = "uint8"
    options.input_range = [-1.0, 1.0]  # ... and maps 0..255 onto -1..1: x / 127.5 - 1
    options.input_layout = "NCHW"  # planar RGB, what the K210 camera (DVP) writes for the KPU
    options.input_shape = [1, channels, height, width]
    options.output_layout = "NHWC"  # the TFLite model's layout
    options.quant_type = "uint8"
    options.w_quant_type = "uint8"
    options.dump_asm = True  # writes the region and memory reports parsed below
    dump = os.path.join(work, "dump")
    options.dump_dir = dump
    compiler = nncase.Compiler(options)
    with open(os.path.join(work, "model.tflite"), "rb") as f:
        compiler.import_tflite(f.read(), nncase.ImportOptions())
    ptq = nncase.PTQTensorOptions()
    ptq.calibrate_method = request.get("calibrate_method", "no_clip")
    ptq.samples_count = int(count)
    ptq.set_tensor_data(np.ascontiguousarray(samples[:, np.newaxis], dtype=np.uint8).tobytes())
    compiler.use_ptq(ptq)
    compiler.compile()
    kmodel = compiler.gencode_tobytes()
    with open(os.path.join(work, "model.kmodel"), "wb") as f:
        f.write(kmodel)
    return {
        "nncase": _version(),
        "regions": _regions(dump),
        "cpu_ops": _ops(os.path.join(dump, "stackvm", "main", "runtime_ops.txt")),
        "memory": _memory(os.path.join(dump, "kmodel_info.txt")),
    }


def simulate(work):
    import nncase

    with open(os.path.join(work, "model.kmodel"), "rb") as f:
        kmodel = f.read()
    inputs = np.load(os.path.join(work, "inputs.npy"))
    simulator = nncase.Simulator()
    simulator.load_model(kmodel)
    outputs = [[] for _ in range(simulator.outputs_size)]
    for image in inputs:
        tensor = np.ascontiguousarray(image[np.newaxis], dtype=np.uint8)
        simulator.set_input_tensor(0, nncase.RuntimeTensor.from_numpy(tensor))
        simulator.run()
        for i, found in enumerate(outputs):
            found.append(np.array(simulator.get_output_tensor(i).to_numpy(), dtype=np.float32))
    shapes = []
    for i, found in enumerate(outputs):
        array = np.stack(found)
        np.save(os.path.join(work, f"output_{i}.npy"), array)
        shapes.append(list(array.shape))
    return {"outputs": shapes}


def _regions(dump):
    """[{name, ops}] per KPU module, in the order the main module calls them."""
    folder = os.path.join(dump, "k210")
    found = os.listdir(folder) if os.path.isdir(folder) else []
    names = sorted(
        (n for n in found if re.match(r"k210_\d+$", n)), key=lambda n: int(n.split("_")[1])
    )
    return [{"name": n, "ops": _ops(os.path.join(folder, n, "runtime_ops.txt"))} for n in names]


def _ops(path):
    """["Kind name", ...] from a runtime_ops.txt ('[KPUConv2D] Conv2d_0/conv' lines)."""
    if not os.path.exists(path):
        return []
    ops = []
    with open(path) as f:
        for line in f:
            match = re.match(r"\[(\w+)\]\s*(.*)$", line.strip())
            if match:
                ops.append((match.group(1) + " " + match.group(2)).strip())
    return ops


def _memory(path):
    """{pool: bytes} from kmodel_info.txt ('data:    3.91 MB	(4101376 B)')."""
    memory = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                match = re.match(r"\s*\.?(\w+):?\s+[\d.]+\s*\w+\s*\((\d+) B\)", line)
                if match:
                    memory[match.group(1).lower()] = int(match.group(2))
    return memory


def _version():
    try:
        from importlib.metadata import version

        return version("nncase")
    except Exception:  # metadata missing: the version is only informative
        return "unknown"


def main(argv):
    if len(argv) != 3 or argv[1] not in ("compile", "simulate"):
        sys.stderr.write("usage: _nncase_worker.py compile|simulate WORKDIR\n")
        return 2
    work = argv[2]
    try:
        result = compile_kmodel(work) if argv[1] == "compile" else simulate(work)
        status = 0
    except Exception as exc:  # nncase raises RuntimeError and others: report them all
        result = {"error": f"{type(exc).__name__}: {exc}"}
        status = 3
    with open(os.path.join(work, "result.json"), "w") as f:
        json.dump(result, f)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
