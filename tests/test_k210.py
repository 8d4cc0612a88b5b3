"""The K210 export: explicit-pad layout, K210 sizes, the kmodel from nncase 1.x and its simulator.

Tolerances: the explicit-pad layout equals SAME to 1e-5 at the odd sizes
225x305 and 257x257 (it is the same arithmetic); the kmodel, quantized to
uint8 by nncase, finds both people of test_couple within a mean keypoint
distance of 4 px (model-input pixels) of the float TFLite it was compiled from.

The kmodel tests compile for real, in the nncase venv the export itself uses
(conftest.py: POSENET_NNCASE_VENV, else the user's posenet cache); the first
run on a machine creates it (Python 3.10 + nncase 1.9 from PyPI), then one
compile serves the module.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from posenet.cli import main
from posenet.decode import decode
from posenet.errors import PosenetError
from posenet.export import export
from posenet.export import k210 as k210_module
from posenet.export._nncase_worker import _memory, _ops
from posenet.export.k210 import (
    DEFAULT_SIZE,
    MAX_INPUT,
    KModel,
    KpuRegion,
    dilated_layers,
    k210_size,
    k210_tflite,
    simulate_kmodel,
)
from posenet.export.verify import person_distances
from posenet.formats import read_network
from posenet.image import fit, load_image
from posenet.network import MOBILENET_V1_LAYERS, with_output_stride
from posenet.runtime import Runtime
from posenet.tflite.build import build_tflite
from posenet.tflite.flatbuffer import op_name, read_model

from .conftest import IMAGES, MODELS

POSENET_JSON = MODELS / "tfjs" / "posenet-mobilenet-float-075" / "posenet.json"
COUPLE = IMAGES / "test_couple.jpg"
HEADS = ("heatmap", "offsets", "displacements_fwd", "displacements_bwd")


@cache
def network():
    return read_network(POSENET_JSON)


@cache
def couple_input(height: int, width: int) -> np.ndarray:
    return fit(load_image(COUPLE), (height, width), "stretch").pixels


def run(model: bytes, size: tuple[int, int]):
    return Runtime(model, threads=1).run(couple_input(*size))


# --- layout ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(225, 305), (257, 257)])
def test_explicit_pad_equals_same_at_odd_sizes(size):
    same = run(build_tflite(network(), size, 16), size)
    padded = run(build_tflite(network(), size, 16, explicit_pad=True), size)
    for name in HEADS:
        np.testing.assert_allclose(getattr(padded, name), getattr(same, name), rtol=0, atol=1e-5)


@pytest.mark.parametrize("stride", [16, 32])
def test_every_stride2_conv_has_an_explicit_pad(stride):
    flat = read_model(k210_tflite(network(), DEFAULT_SIZE, stride))
    graph = flat.subgraphs[0]
    producer = {int(out): op for op in graph.operators for out in op.outputs}
    strided = []
    for op in graph.operators:
        if op_name(flat, op.opcodeIndex) not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        options = op.builtinOptions
        if options.strideH == 1:
            assert options.padding == schema.Padding.SAME  # the KPU pads 1x1/3x3 s1 itself
            continue
        strided.append(graph.tensors[op.outputs[0]].name.decode())
        assert options.padding == schema.Padding.VALID
        pad = producer[int(op.inputs[0])]
        assert op_name(flat, pad.opcodeIndex) == "PAD"
        amounts = graph.tensors[pad.inputs[1]]
        values = np.frombuffer(bytes(flat.buffers[amounts.buffer].data), "<i4").reshape(4, 2)
        assert values.tolist() == [[0, 0], [1, 1], [1, 1], [0, 0]]
    geometry = with_output_stride(network(), stride).body
    expected = [layer.name for layer in geometry if layer.stride == 2]
    assert strided == expected
    assert strided[0] == "Conv2d_0" and all("depthwise" in n for n in strided[1:])
    assert len(strided) == {16: 4, 32: 5}[stride]


def test_explicit_pad_keeps_the_grid_aligned_at_even_sizes():
    """At 192x256 the symmetric pad decodes like SAME at 193x257; SAME at 192x256 does not."""
    aligned = decode(run(build_tflite(network(), (193, 257), 16), (193, 257)), "coral")
    padded = decode(run(k210_tflite(network(), (192, 256), 16), (192, 256)), "coral")
    shifted = decode(run(build_tflite(network(), (192, 256), 16), (192, 256)), "coral")
    scale = (256 / 257, 192 / 193)
    aligned = [pose.mapped(scale, (0.0, 0.0)) for pose in aligned]
    assert max(person_distances(aligned, padded)) < 3.0
    assert min(person_distances(aligned, shifted)) > 8.0


def test_k210_sizes():
    assert k210_size(None, 16) == DEFAULT_SIZE == (192, 256)
    assert k210_size("auto", 16) == DEFAULT_SIZE
    assert k210_size("225x305", 16) == (224, 304)
    assert k210_size("240x320", 16) == MAX_INPUT
    assert k210_size("239x319", 16) == (240, 320)
    assert k210_size("239x319", 32) == (224, 320)  # 256 would exceed 240 rows
    assert k210_size((100, 100), 16) == (96, 96)
    for too_big in ("241x320", "240x321", "353x481"):
        with pytest.raises(PosenetError, match=r"320x240 \(W x H\)"):
            k210_size(too_big, 16)
    with pytest.raises(PosenetError, match="smaller than the output stride"):
        k210_size("8x8", 16)


def test_k210_tflite_refuses_what_the_kpu_cannot_run():
    with pytest.raises(PosenetError, match="not a multiple of the output stride"):
        k210_tflite(network(), (193, 257), 16)
    with pytest.raises(PosenetError, match="320x240"):
        k210_tflite(network(), (256, 256), 16)


def test_dilated_layers_are_named():
    """The KPU has no dilation: nncase leaves the KPU there, and export says so in a note."""
    assert dilated_layers(network(), 16) == dilated_layers(network(), 32) == []
    assert dilated_layers(network(), 8) == [f"Conv2d_{b}_depthwise" for b in range(7, 14)]
    bodypix = read_network(MODELS / "tfjs" / "bodypix-mobilenet-quant1-100")
    assert dilated_layers(bodypix, 16) == ["Conv2d_13_depthwise"]


def test_worker_reads_nncase_reports(tmp_path):
    ops = tmp_path / "runtime_ops.txt"
    ops.write_text(
        "[KPUUpload] Conv2d_0/conv/kpu_download\n[KPUConv2D] Conv2d_0/conv\n[KPUDownload] \n"
    )
    assert _ops(str(ops)) == [
        "KPUUpload Conv2d_0/conv/kpu_download",
        "KPUConv2D Conv2d_0/conv",
        "KPUDownload",
    ]
    info = tmp_path / "kmodel_info.txt"
    info.write_text(
        "\nMEMORY USAGES\ninput:  106.13 KB\t(108675 B)\ndata:    3.91 MB\t(4101376 B)\n"
    )
    assert _memory(str(info)) == {"input": 108675, "data": 4101376}
    region = KpuRegion("k210_0", ("KPUUpload x", "KPUConv2D a/conv", "KPUConv2D b", "KPUDownload"))
    assert region.convs == ("a/conv", "b")
    model = KModel(b"", (192, 256), (region,), ("Call k210_0", "Transpose t", "Transpose u"))
    assert model.summary() == ["KPU region k210_0: 2 convs (a/conv .. b)", "CPU ops: Transpose x2"]


def test_missing_python_for_nncase_is_explained_and_the_tflite_written(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("POSENET_NNCASE_VENV", str(tmp_path / "no-venv"))
    monkeypatch.setenv("POSENET_NNCASE_PYTHON", str(tmp_path / "python3.10"))
    out = tmp_path / "m.kmodel"
    argv = ["export", "tfjs-075", "--format", "k210", "-o", str(out), "--calibration", str(IMAGES)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "CPython 3.6-3.10" in err and "POSENET_NNCASE_PYTHON" in err
    assert f"the float TFLite was written to {out.with_suffix('.tflite')}" in err
    assert Runtime(out.with_suffix(".tflite").read_bytes()).input_size == DEFAULT_SIZE
    assert not out.exists()


@pytest.mark.parametrize("output", ["self.kmodel", "self", "self.tflite"])
def test_the_companion_tflite_never_overwrites_the_model(tmp_path, capsys, monkeypatch, output):
    """-o m.kmodel also writes m.tflite: when that is the source model, refuse."""
    source = tmp_path / "self.tflite"
    source.write_bytes(build_tflite(network(), (257, 257), 16))
    before = source.read_bytes()
    monkeypatch.chdir(tmp_path)
    argv = ["export", "self.tflite", "--format", "k210", "-o", output]
    assert main([*argv, "--calibration", str(IMAGES)]) == 2
    err = capsys.readouterr().err
    assert "self.tflite: the float TFLite a k210 export writes beside it is the model file" in err
    assert err.count("\n") == 1 and source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["self.tflite"]


def test_no_python_found_names_the_fix(monkeypatch):
    monkeypatch.delenv("POSENET_NNCASE_PYTHON", raising=False)
    monkeypatch.setattr(k210_module, "_python_candidates", lambda: iter(["/nonexistent/python"]))
    with pytest.raises(PosenetError, match=r"pyenv install 3\.10"):
        k210_module._base_python()


# --- the kmodel (nncase 1.x, for real) ----------------------------------------------------


@pytest.fixture(scope="module")
def k210_export(tmp_path_factory: pytest.TempPathFactory):
    """`export --format k210` of the TF.js model, once: (result, folder)."""
    base = tmp_path_factory.getbasetemp()
    folder = base / "k210"
    with pytest.MonkeyPatch.context() as patch:  # the autouse store fixture is per test
        patch.setenv("POSENET_HOME", str(base / "posenet-home"))
        patch.setenv("POSENET_MIRROR", str(MODELS))
        folder.mkdir()
        result = export(
            "tfjs-075",
            folder / "posenet.kmodel",
            format="k210",
            calibration=IMAGES,
            check_image=COUPLE,
        )
    return result, folder


def test_kmodel_runs_every_conv_in_one_kpu_region(k210_export):
    result, folder = k210_export
    assert result.files == (folder / "posenet.kmodel", folder / "posenet.tflite")
    kmodel = result.kmodel
    assert (folder / "posenet.kmodel").read_bytes() == kmodel.data
    convs = len(MOBILENET_V1_LAYERS) + len(HEADS)
    assert [len(region.convs) for region in kmodel.regions] == [convs]
    assert kmodel.regions[0].convs[0] == "Conv2d_0/conv"
    cpu = [op.split()[0] for op in kmodel.cpu_ops]
    assert "Pad" not in cpu and cpu.count("Call") == 1
    assert set(cpu) <= {"Call", "Transpose", "Dequantize"}  # only the heads' layout and type
    assert kmodel.nncase.startswith("1.9.0")


@pytest.mark.parametrize("decoder", ["coral", "tfjs"])
def test_kmodel_in_the_simulator_finds_both_people(k210_export, decoder):
    result, folder = k210_export
    size = result.input_size
    assert size == DEFAULT_SIZE
    heads = simulate_kmodel((folder / "posenet.kmodel").read_bytes(), [couple_input(*size)], 16)[0]
    assert heads.grid_size == (12, 16) and heads.input_size == size
    reference = decode(run((folder / "posenet.tflite").read_bytes(), size), decoder)
    found = decode(heads, decoder)
    assert sum(p.score >= 0.5 for p in found) == 2
    distances = person_distances(reference, found)
    assert len(distances) == 2
    assert np.mean(distances) <= 4.0, distances


def test_k210_export_reports_its_checks(k210_export):
    result, _ = k210_export
    float_check, kmodel_check = result.checks
    assert float_check.label == "K210 float TFLite vs float32 SAME at 193x257"
    assert float_check.head_errors == {}  # different grids: poses only
    assert kmodel_check.label == "kmodel (nncase simulator) vs K210 float TFLite"
    for c in result.checks:
        assert c.people == 2 and c.poses == 2 and c.mean_distance <= 4.0


def test_nncase_venv_is_made_once(k210_export, monkeypatch):
    venv = k210_module.nncase_venv()
    assert k210_module._ready(venv)
    monkeypatch.setattr(k210_module, "_base_python", lambda: pytest.fail("venv rebuilt"))
    assert k210_module.nncase_python() == k210_module._venv_python(venv)
    assert Path(venv, ".gitignore").read_text() == "*\n"
