"""The graphc command: every subcommand on tiny scripts, JSON that parses, clear errors."""
import json
import os
import subprocess
import sys

import pytest

from graphc.cli import main
from graphc.inspect import graphviz_available

HERE = os.path.dirname(__file__)
ROOT = os.path.dirname(HERE)
MLP = os.path.join(HERE, "cli_scripts", "tiny_mlp.py")
MODEL = os.path.join(HERE, "cli_scripts", "tiny_model.py")
EMPTY = os.path.join(HERE, "cli_scripts", "no_model.py")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_dump_text_before_and_after_fusion(capsys):
    code, out, _ = run(capsys, "dump", MLP)
    assert code == 0 and out.startswith("graph train_step(") and "fused(" not in out
    assert "tiny_mlp.py:" in out
    code, out, _ = run(capsys, "dump", MLP, "--after", "fuse", "--kernels")
    assert code == 0 and "fused(" in out and "fused kernels" in out
    # then the kernel IR the CPU code generator lowers that graph to
    assert "// kernel IR:" in out and "driver seg0(" in out


def test_dump_json_and_dot_parse(capsys):
    code, out, _ = run(capsys, "dump", MLP, "--format", "json", "--after", "fuse")
    doc = json.loads(out)
    assert code == 0 and doc["name"] == "train_step" and doc["nodes"]
    code, out, _ = run(capsys, "dump", MLP, "--format", "dot", "--after", "fuse")
    assert code == 0 and out.startswith("digraph") and "subgraph cluster_" in out


def test_dump_stops_the_script_before_it_trains(capsys):
    code, out, err = run(capsys, "dump", MLP)
    assert code == 0 and "loss" not in err.split("graph")[0].replace("loss/", "")
    assert "loss 0." not in out + err


def test_dump_model_steps(capsys):
    for step, name in (("train", "train_function"), ("test", "test_function"),
                       ("predict", "predict_function")):
        code, out, _ = run(capsys, "dump", MODEL, "--step", step)
        assert code == 0 and out.startswith(f"graph {name}(")
    code, out, _ = run(capsys, "dump", MODEL)              # compiled: train by default
    assert out.startswith("graph train_function(") and "tiny_model.py:" in out


def test_dump_all_and_output_file(capsys, tmp_path):
    target = tmp_path / "dump.txt"
    code, _, err = run(capsys, "dump", MLP, "--all", "-o", str(target))
    assert code == 0 and "wrote" in err and " after fuse (" in target.read_text()


@pytest.mark.skipif(not graphviz_available(), reason="Graphviz 'dot' is not installed")
def test_dump_renders_png(capsys, tmp_path):
    target = tmp_path / "g.png"
    code, _, _ = run(capsys, "dump", MLP, "--after", "fuse", "-o", str(target))
    assert code == 0 and target.read_bytes()[:4] == b"\x89PNG"


def test_passes_json(capsys):
    code, out, _ = run(capsys, "passes", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and "fuse" in doc["passes"] and "fuse" in doc["pipelines"]["fast_run"]
    code, out, _ = run(capsys, "passes")
    assert "fast_run" in out and "dce" in out


def test_profile_json(capsys):
    code, out, _ = run(capsys, "profile", MLP, "--mode", "reference", "--calls", "2",
                       "--format", "json", "--no-calibration")
    doc = json.loads(out)
    assert code == 0 and doc["calls"] == 2 and doc["kernels"]
    assert doc["total_seconds"] >= doc["kernel_seconds"] > 0
    code, out, _ = run(capsys, "profile", MLP, "--mode", "reference", "--calls", "1",
                       "--no-calibration")
    assert code == 0 and "Kernels (slowest first)" in out


def test_bench_builtin_and_file_json(capsys, tmp_path):
    code, out, _ = run(capsys, "bench", "--builtin", "elementwise", "--size", "small",
                       "--budget", "0.02", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["results"][0]["name"] == "elementwise"
    target = tmp_path / "b.json"
    code, out, _ = run(capsys, "bench", MLP, "--budget", "0.02", "-o", str(target))
    assert code == 0 and "train_step" in out
    assert json.loads(target.read_text())["results"][0]["reference"]["median"] > 0


def test_cache_and_info_json(capsys):
    code, out, _ = run(capsys, "cache", "info", "--format", "json")
    assert code == 0 and {"dir", "entries", "bytes"} <= set(json.loads(out))
    code, out, _ = run(capsys, "info", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["versions"]["numpy"] and "available" in doc["cuda"]
    assert doc["settings_file"].endswith("graphc.json")
    code, out, _ = run(capsys, "info")
    assert "cuda" in out and "settings" in out


def test_missing_file_is_a_clear_error(capsys):
    code, _, err = run(capsys, "dump", "no/such/script.py")
    assert code == 2 and "file not found: no/such/script.py" in err


def test_script_without_model_is_a_clear_error(capsys):
    code, _, err = run(capsys, "dump", EMPTY)
    assert code == 2 and "built no graphc Model or K.function" in err


def test_unknown_pass_is_a_clear_error(capsys):
    code, _, err = run(capsys, "dump", MLP, "--after", "fusion")
    assert code == 2 and "unknown pass 'fusion'" in err and "fuse" in err


def test_unknown_function_name_lists_the_built_ones(capsys):
    code, _, err = run(capsys, "dump", MLP, "--function", "nope")
    assert code == 2 and "train_step" in err


def test_failing_script_reports_its_error(capsys, tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("raise RuntimeError('broken on purpose')\n")
    code, _, err = run(capsys, "dump", str(bad))
    assert code == 1 and "RuntimeError: broken on purpose" in err


def test_python_dash_m_graphc_entry_point():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "graphc", "passes", "--format", "json"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "fast_run" in json.loads(proc.stdout)["pipelines"]
    proc = subprocess.run([sys.executable, "-m", "graphc", "frobnicate"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_info_says_when_openblas_kernels_are_forced(capsys, monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    code, out, _ = run(capsys, "info")
    assert code == 0 and "kernels forced by OPENBLAS_CORETYPE=Haswell" in out
    monkeypatch.delenv("OPENBLAS_CORETYPE")
    code, out, _ = run(capsys, "info")
    assert code == 0 and "OPENBLAS_CORETYPE" not in out
    code, out, _ = run(capsys, "info", "--format", "json")
    assert json.loads(out)["blas_coretype"] is None
