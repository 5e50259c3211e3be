"""`pedrank select` end to end, its exit statuses, and `pedrank rank`'s same-samples check."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from pedrank.cli import main
from pedrank.pipeline.feature_files import save_feature_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
from select_inputs import (  # noqa: E402  (the pipeline tests' builders of small real inputs)
    MODELS_PY,
    write_digits_folder,
    write_torchscript,
)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("select_cli")
    mods = d / "mods.py"
    mods.write_text(MODELS_PY)
    torch = pytest.importorskip("torch")
    torch.save(torch.nn.Linear(2, 2), d / "pickled.pt")  # a whole pickled module: never loaded
    return {"data": write_digits_folder(d / "digits"), "mods": mods,
            "ts": write_torchscript(d / "tiny.pt", 4, 0), "pickled": d / "pickled.pt"}


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _base(inputs, tmp_path, *models):
    specs = [m if m.startswith("python:") or m.endswith(".pt") else
             f"python:{inputs['mods']}:{m}" for m in models]
    return ["select", str(inputs["data"]), "--models", *specs, "--cache-dir", str(tmp_path),
            "--source-data", str(inputs["data"]), "--bootstrap", "5"]


def test_table_output_ranks_and_recommends(inputs, tmp_path, capsys):
    code, out, err = _run(capsys, *_base(inputs, tmp_path, "good", "narrow", str(inputs["ts"])))
    assert code == 0, err
    assert "3 models on 'digits' (48 samples, 4 classes)" in out
    for col in ("logme #", "PED+logme #", "sfda", "PED+gbc"):
        assert col in out
    assert "source statistics (PED):" in out and "given sample digits" in out
    assert "Recommended:" in out or "Statistical tie:" in out
    assert "times: extraction" in out
    assert "[1/3]" in err  # progress lines on stderr, stdout stays the table


def test_json_csv_and_ped_switches(inputs, tmp_path, capsys):
    code, out, _ = _run(capsys, *_base(inputs, tmp_path, "good", "narrow"), "--format", "json",
                        "--no-ped", "-m", "logme", "-m", "hscore")
    assert code == 0
    data = json.loads(out)
    assert data["columns"] == ["logme", "hscore"]
    assert data["recommendation"]["column"] == "logme"
    code, out, _ = _run(capsys, *_base(inputs, tmp_path, "good", "narrow"), "--format", "csv",
                        "--ped", "-m", "logme")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and {r["column"] for r in rows} == {"PED+logme"} and len(rows) == 2


def test_report_writes_markdown_html_and_png(inputs, tmp_path, capsys):
    pytest.importorskip("jinja2")
    code, _, err = _run(capsys, *_base(inputs, tmp_path / "c", "good", "narrow"),
                        "--report", str(tmp_path / "rep"))
    assert code == 0
    md = (tmp_path / "rep" / "selection.md").read_text()
    assert "| model |" in md and "mods:good" in md
    assert "mods:narrow" in (tmp_path / "rep" / "selection.html").read_text()
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "no PNG" in err
    else:
        assert (tmp_path / "rep" / "selection.png").read_bytes()[:4] == b"\x89PNG"


def test_some_models_failed_exit_3_all_failed_exit_1(inputs, tmp_path, capsys):
    code, out, _ = _run(capsys, *_base(inputs, tmp_path, "good", "broken", "narrow"))
    assert code == 3
    assert "failed (not ranked):" in out and "mods:broken: RuntimeError: the model exploded" in out
    code, _, err = _run(capsys, *_base(inputs, tmp_path, "broken"))
    assert code == 1 and "every model failed" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("edit", "expect"),
    [
        (lambda a, p: a + ["--models", "nope"], "nope"),
        (lambda a, p: a + ["--models", str(p / "missing.pt")], "missing.pt"),
        (lambda a, p: [a[0], str(p / "no-such-folder"), *a[2:]], "no-such-folder"),
        (lambda a, p: a + ["--max-samples", "1"], "--max-samples"),
        (lambda a, p: a + ["--metric", "leep"], "source-model probabilities"),
        (lambda a, p: a + ["--source-data", str(p / "nothing")], "--source-data"),
        (lambda a, p: a + ["--models", "PICKLED"], "pickled.pt"),
        (lambda a, p: a + ["--models", "python:MODS:scalar"], "output"),
    ],
)
def test_bad_input_is_one_line_exit_2(inputs, tmp_path, capsys, edit, expect):
    def fill(arg):
        return arg.replace("PICKLED", str(inputs["pickled"])).replace("MODS", str(inputs["mods"]))

    argv = edit(["select", str(inputs["data"]), "--cache-dir", str(tmp_path),
                 "--models", f"python:{inputs['mods']}:good"], tmp_path)
    code, _, err = _run(capsys, *map(fill, argv))
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if not ln.startswith("pedrank select: [")]
    assert len(lines) == 1 and expect in lines[0] and "Traceback" not in err


def test_one_class_folder_is_refused(inputs, tmp_path, capsys):
    one = write_digits_folder(tmp_path / "one", 6, 1)
    code, _, err = _run(capsys, "select", str(one), "--models", f"python:{inputs['mods']}:good",
                        "--cache-dir", str(tmp_path))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "class" in err


def test_rank_refuses_feature_files_of_different_samples(tmp_path, capsys):
    rng = np.random.default_rng(0)
    save_feature_file(tmp_path / "a.npz", rng.random((100, 5)), np.repeat(np.arange(4), 25))
    save_feature_file(tmp_path / "b.npz", rng.random((200, 5)), np.repeat(np.arange(5), 40))
    code, _, err = _run(capsys, "rank", str(tmp_path), "--metric", "logme")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "a.npz has 100 samples / 4 classes, b.npz has 200 samples / 5 classes" in err


def test_rank_refuses_same_labels_from_different_data(tmp_path, capsys):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 25)
    save_feature_file(tmp_path / "a.npz", rng.random((100, 5)), y, data_hash="aaaa")
    save_feature_file(tmp_path / "b.npz", rng.random((100, 5)), y, data_hash="bbbb")
    code, _, err = _run(capsys, "rank", str(tmp_path), "--metric", "logme")
    assert code == 2 and "different data" in err and "a.npz" in err and "b.npz" in err
    save_feature_file(tmp_path / "b.npz", rng.random((100, 5)), y, data_hash="aaaa")
    code, out, _ = _run(capsys, "rank", str(tmp_path), "--metric", "logme")
    assert code == 0 and "a" in out


def _models_conftest():
    """The loader tests' builders of tiny ONNX / Hugging Face models (tests/models/conftest.py),
    imported under another name: their fixtures become fixtures of this module."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "models" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_loader_test_models", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_loader_models = _models_conftest()
hf_vit_dir = _loader_models.hf_vit_dir
hf_bert_dir = _loader_models.hf_bert_dir


def _zoo(name):
    from pedrank.models.zoo import get_entry

    if not get_entry(name).is_available():
        pytest.skip(f"zoo model {name} not installed ({get_entry(name).install})")
    return name


def test_done_means_vision_torchscript_onnx_hf_and_zoo_on_an_image_folder(
        inputs, tmp_path, capsys, hf_vit_dir):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()
    onnx = _loader_models.export_onnx(net, tmp_path / "exported.onnx")
    zoo = _zoo("efficientnet-lite0")
    code, out, err = _run(capsys, "select", str(inputs["data"]), "--models", str(inputs["ts"]),
                          str(onnx), f"hf:{hf_vit_dir}", zoo, "--image-size", "32",
                          "--cache-dir", str(tmp_path / "c"), "--source-data", str(inputs["data"]),
                          "--bootstrap", "5", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert len(data["models"]) == 4 and data["failed"] == {}
    ranks = sorted(r["rank"] for r in data["ranking"] if r["column"] == "PED+logme")
    assert ranks[0] == 1 and len(ranks) == 4


def test_done_means_text_hf_and_zoo_encoder_on_a_csv(tmp_path, capsys, hf_bert_dir):
    zoo = _zoo("tokenlearn-static")
    words = ["the cat sat on a mat", "a dog ran on the log", "the cat ran fast",
             "a dog sat on the mat"]
    rows = ["text,label"] + [f"{words[i % 4]} {i},{'pets' if i % 2 else 'animals'}"
                             for i in range(24)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    # --source-data: the generic English sample (2,985 sentences) is tested on a cheaper model
    # in tests/pipeline; here it would triple the test's time.
    code, out, err = _run(capsys, "select", str(tmp_path / "t.csv"), "--models",
                          f"hf:{hf_bert_dir}", zoo, "--cache-dir", str(tmp_path / "c"),
                          "--source-data", str(tmp_path / "t.csv"), "--bootstrap", "5")
    assert code == 0, err
    assert "2 models on 't' (24 samples, 2 classes)" in out and "given sample" in out


def test_truncated_image_found_while_streaming_is_exit_2(inputs, tmp_path, capsys):
    # The header parses (so loading the folder passes); the pixels fail when the batch is
    # decoded during extraction: bad input naming the file, not one model's failure.
    root = write_digits_folder(tmp_path / "trunc", 6, 2)
    victim = sorted((root / "1").iterdir())[0]
    victim.write_bytes(victim.read_bytes()[:40])
    code, _, err = _run(capsys, "select", str(root), "--models", f"python:{inputs['mods']}:good",
                        "--cache-dir", str(tmp_path / "c"), "--source-data", str(inputs["data"]))
    lines = [ln for ln in err.splitlines() if not ln.startswith("pedrank select: [")]
    assert code == 2 and len(lines) == 1, err
    assert victim.name in lines[0] and "not a readable image" in lines[0]


def test_dtype_flag_reaches_the_metrics(inputs, tmp_path, capsys):
    """--dtype float32: LogME within its measured float32 bound of the float64 run; GBC,
    which has no float32 path, unchanged and named in the notes."""
    base = [*_base(inputs, tmp_path, "good", "narrow"), "--format", "json", "--no-ped",
            "-m", "logme", "-m", "gbc"]
    runs = {}
    for dt in ("float64", "float32"):
        code, out, err = _run(capsys, *base, "--dtype", dt)
        assert code == 0, err
        runs[dt] = json.loads(out)
    by = {dt: {(r["model"], r["column"]): r["score"] for r in d["ranking"]}
          for dt, d in runs.items()}
    for key, v64 in by["float64"].items():
        assert by["float32"][key] == pytest.approx(v64, rel=7.5e-3 if key[1] == "logme" else 0)
    assert any("gbc" in n and "float64" in n for n in runs["float32"]["notes"])
