"""The CLI fuzz matrix: every sub-command x every option x bad values and bad files.

The cases come from introspecting :func:`pedrank.cli.build_parser`, so a
sub-command or option added later is covered without editing this file. Each
case runs ``pedrank.cli.main`` in-process and checks the CLI error contract
(docs/cli-errors.md):

* bad input -> exit status 2, stderr is ONE line, names the flag or file, and
  holds no traceback (nor Python advice such as ``allow_pickle``);
* an accepted value -> exit status 0, 1 or 2 and, when non-zero, one line.

Numeric options must declare their valid range (``pedrank.cli._common.number``);
a numeric option without one fails its cases. ``PEDRANK_MATRIX_LOG=FILE``
appends ``category<TAB>case<TAB>pass|fail<TAB>problems`` per case (the closing note's table).
"""

from __future__ import annotations

import argparse
import functools
import io
import math
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from pedrank.cli import build_parser, main

# Intended ranges of numeric options that predate ``number``'s declared ranges
# (or belong to sub-commands maintained elsewhere); a declared range wins.
KNOWN_RANGES: dict[str, tuple[float, float, bool]] = {  # dest: (lo, hi, lo excluded)
    "time_step": (0.0, 1e3, True), "nsigma": (0.0, 1e2, True), "constant": (0.0, 1e6, True),
    "exit_ratio": (0.0, 1.0, True), "max_steps": (1, 1000, False),
    "max_samples": (2, math.inf, False), "seed": (0, 2**32 - 1, False),
    "image_size": (8, 4096, False), "batch_size": (1, 1 << 16, False),
    "jobs": (1, 1024, False), "blas_threads": (1, 1024, False),
    "scheduler_timeout": (0.0, 86400.0, True),
}
ALWAYS_BAD = ("abc", "1e400", "nan", "-inf", "")
RANGE_VALUES = {int: ("-1", "0", "1000000000"), float: ("-1", "0", "1e12")}
DIR_INPUTS = {("rank", "directory"), ("bench", "features"), ("reproduce", "features")}
OUTPUT_DESTS = {"results", "out_dir", "cache_dir"}
KV_VALUES = {
    "metric_option": ("ratio=abc", "ratio=1e400", "ratio=nan", "ratio=", "nosuch=1", "novalue",
                      "max_fit_samples=true"),
    "ped_param": ("nsigma=abc", "nsigma=1e400", "nsigma=nan", "exit_ratio=-1",
                  "max_steps=100000000", "time_step=0", "nosuch=1", "novalue"),
}
BAD_FILES = ("missing", "empty", "directory", "npy", "corrupt_zip", "huge_header", "bomb",
             "pickled", "text")
# Sub-commands whose modules another helper is rewriting: their cases are
# expected to fail until that rewrite adopts pedrank.cli._common's option types.
FOREIGN: dict[str, str] = {}  # sub-command -> why its bad-value cases may still fail


# --------------------------------------------------------------------------- fixtures
def _npz_with_header(path: Path, shape: tuple[int, ...]) -> None:
    """An .npz whose features.npy header claims ``shape`` but holds no data (~1 KB)."""
    from numpy.lib import format as npformat

    head = io.BytesIO()
    npformat.write_array_header_1_0(head, {"descr": "<f8", "fortran_order": False,
                                           "shape": shape})
    labels = io.BytesIO()
    np.save(labels, np.arange(4) % 2)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("features.npy", head.getvalue())
        zf.writestr("labels.npy", labels.getvalue())


def _good_arrays(seed: int, n: int = 40, d: int = 5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.normal(size=(n, d)) + y[:, None]
    return {"features": X, "labels": y, "source_mean": np.zeros(d), "source_std": np.ones(d)}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from pedrank.pipeline.bench.synthetic import make_feature_zoo

    root = tmp_path_factory.mktemp("matrix")
    e: dict[str, Path] = {"root": root}
    e["good"] = root / "good.npz"
    np.savez(e["good"], **_good_arrays(0))
    e["nosource"] = root / "nosource.npz"
    np.savez(e["nosource"], features=_good_arrays(0)["features"], labels=np.arange(40) % 3)
    e["rankdir"] = root / "rank"
    e["rankdir"].mkdir()
    for i in range(2):
        np.savez(e["rankdir"] / f"m{i}.npz", **_good_arrays(i))
    e["zoo"] = root / "zoo"
    make_feature_zoo(e["zoo"], ("m1", "m2"), ("d1",), seed=3)
    e["repro"] = root / "repro"
    e["repro"].mkdir()
    for i, model in enumerate(("byol", "swav")):
        np.savez(e["repro"] / f"{model}_cifar10.npz", **_good_arrays(i))
    bad = root / "bad"
    bad.mkdir()
    (bad / "empty.npz").write_bytes(b"")
    (bad / "directory.npz").mkdir()
    np.save(bad / "array.npy", np.ones((4, 2)))
    os.replace(bad / "array.npy", bad / "npy.npz")
    (bad / "corrupt_zip.npz").write_bytes(b"PK\x03\x04" + b"\x00" * 60)
    _npz_with_header(bad / "huge_header.npz", (10**7, 10**6))
    # 128 MiB of zeros in a ~130 KB file; the tests' memory budget is 32 MiB.
    np.savez_compressed(bad / "bomb.npz", features=np.zeros((16384, 1024)),
                        labels=np.arange(16384) % 2)
    np.savez(bad / "pickled.npz", features=np.array([{"a": 1}] * 4, dtype=object),
             labels=np.arange(4) % 2)
    (bad / "text.npz").write_text("hello, not an array\n")
    for name in BAD_FILES:
        e[f"bad:{name}"] = bad / f"{name}.npz"
    e["a_file"] = root / "a_file.txt"
    e["a_file"].write_text("x")
    e["empty_dir"] = root / "empty_dir"
    e["empty_dir"].mkdir()
    return e


def base_argv(cmd: str, e: dict[str, Path], case: str) -> list[str]:
    """A valid command line of ``cmd`` on the fixture data, quick to run."""
    res = str(e["root"] / f"res-{cmd}")
    bases: dict[str, list[str]] = {
        "score": ["score", str(e["good"]), "-m", "logme"],
        "rank": ["rank", str(e["rankdir"]), "-m", "logme"],
        "bench": ["bench", "--features", str(e["zoo"]), "--metrics", "logme", "--no-ped",
                  "--no-report", "--no-progress", "--results", res,
                  "--groundtruth", str(e["zoo"] / "groundtruth.json")],
        "reproduce": ["reproduce", "--features", str(e["repro"]), "--metrics", "logme",
                      "--results", res, "--no-plots", "--no-progress"],
        "metrics": ["metrics"],
        "extract": ["extract", "--dataset", "digits", "--models", "no-such-model",
                    "--out-dir", str(e["root"] / "extract-out"), "--no-cache",
                    "--max-samples", "20"],
        "demo": ["demo", "--models", "no-such-model", "--max-samples", "20",
                 "--cache-dir", str(e["root"] / "demo-cache")],
    }
    if cmd in bases:
        argv = list(bases[cmd])
    else:  # a sub-command added later: its required arguments, filled with a dummy
        argv = [cmd]
        for action in _actions(cmd):
            if action.option_strings and action.required:
                argv += [_flag(action), str(e["good"])]
            elif not action.option_strings and action.nargs not in ("?", "*"):
                argv.append(str(e["good"]))
    if "metric_option" in case:
        argv += ["-m", "nleep"]
    return argv


# --------------------------------------------------------------------------- introspection
@functools.cache
def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("pedrank's parser has no sub-commands")


def _actions(cmd: str) -> list[argparse.Action]:
    return [a for a in _subparsers()[cmd]._actions if not isinstance(a, argparse._HelpAction)]


def _flag(action: argparse.Action) -> str:
    return max(action.option_strings, key=len) if action.option_strings else action.dest


def _kind(action: argparse.Action) -> type | None:
    t = action.type
    declared = getattr(t, "kind", None)
    if declared in (int, float):
        return declared
    return t if t in (int, float) else None


def _range(action: argparse.Action) -> tuple[float, float, bool] | None:
    t = action.type
    if getattr(t, "kind", None) is not None:
        lo, hi = getattr(t, "lo", None), getattr(t, "hi", None)
        return (-math.inf if lo is None else lo, math.inf if hi is None else hi,
                bool(getattr(t, "lo_open", False)))
    return KNOWN_RANGES.get(action.dest)


def _is_path(action: argparse.Action) -> bool:
    return (action.type is Path or getattr(action.type, "__name__", "") in ("out_dir",)
            or action.dest in OUTPUT_DESTS)


@dataclass(frozen=True)
class Case:
    category: str
    cmd: str
    name: str
    build: Callable[[dict[str, Path]], list[str]]
    bad: bool  # True: must be refused (exit 2, one line, flag/file named)
    names: Callable[[dict[str, Path]], str]  # what the message must mention


def _with_option(cmd: str, action: argparse.Action, value: str, case: str,
                 ) -> Callable[[dict[str, Path]], list[str]]:
    flag = _flag(action)

    def build(e: dict[str, Path]) -> list[str]:
        argv = base_argv(cmd, e, case)
        if not action.option_strings:  # a positional: replace the base's value
            pos = [a.dest for a in _actions(cmd) if not a.option_strings]
            idx = 1 + pos.index(action.dest)
            if action.nargs in ("?", "*"):  # the base gives none: insert it
                return argv[:idx] + [value] + argv[idx:]
            return argv[:idx] + [value] + argv[idx + 1:]
        out: list[str] = []
        skip = False
        for tok in argv:  # drop the base's own occurrence of this option
            if skip:
                skip = False
                continue
            if tok in action.option_strings:
                skip = True
                continue
            out.append(tok)
        if action.nargs == "+":
            return [*out, flag, value]
        return [*out, f"{flag}={value}"] if value.startswith("-") else [*out, flag, value]

    return build


def _value_cases(cmd: str, action: argparse.Action) -> list[Case]:
    flag = _flag(action)
    name_of = (lambda e, f=flag: f) if action.option_strings else (lambda e, d=action.dest: d)
    cases: list[Case] = []

    def add(category: str, value: str, bad: bool) -> None:
        label = f"{cmd} {flag} {value!r}"
        cases.append(Case(category, cmd, label, _with_option(cmd, action, value, label), bad,
                          name_of))

    kind = _kind(action)
    if kind is not None:
        rng = _range(action)
        for v in ALWAYS_BAD:
            add("numeric options", v, True)
        for v in RANGE_VALUES[kind]:
            if rng is None:
                add("numeric options", v, True)  # fails: no declared range
                continue
            lo, hi, lo_open = rng
            x = float(v)
            add("numeric options", v, not ((x > lo if lo_open else x >= lo) and x <= hi))
    elif action.dest in KV_VALUES or "=VALUE" in str(action.metavar or ""):
        for v in KV_VALUES.get(action.dest, ("novalue",)):
            add("KEY=VALUE options", v, True)
    elif action.choices is not None and action.nargs != 0:
        add("choice options", "no-such-choice", True)
    elif action.dest == "device":
        for v in ("nosuch", "cuda:99", "gpu"):
            add("device", v, True)
    elif _is_path(action):
        pass  # see _file_cases
    elif action.nargs != 0 and action.type in (None, str):
        add("text options", "no-such-thing", False)
    return cases


def _file_cases(cmd: str, action: argparse.Action) -> list[Case]:
    if not _is_path(action) or action.nargs == 0:
        return []
    flag = _flag(action)
    cases: list[Case] = []

    def add(category: str, key: str, value: Callable[[dict[str, Path]], str]) -> None:
        label = f"{cmd} {flag} <{key}>"

        def build(e: dict[str, Path]) -> list[str]:
            return _with_option(cmd, action, value(e), label)(e)

        cases.append(Case(category, cmd, label, build, True,
                          lambda e, f=flag, v=value: f"{f}|{v(e)}|{Path(v(e)).name}"))

    if action.dest in OUTPUT_DESTS or getattr(action.type, "__name__", "") == "out_dir":
        add("output paths", "a file", lambda e: str(e["a_file"]))
        add("output paths", "below a file", lambda e: str(e["a_file"] / "sub"))
    elif (cmd, action.dest) in DIR_INPUTS:
        add("input folders", "missing", lambda e: str(e["root"] / "no-such-dir"))
        add("input folders", "a file", lambda e: str(e["a_file"]))
        add("input folders", "empty folder", lambda e: str(e["empty_dir"]))
    else:
        for key in BAD_FILES:
            if key == "missing":
                add("input files", key, lambda e: str(e["root"] / "no-such-file.npz"))
            else:
                add("input files", key, lambda e, k=key: str(e[f"bad:{k}"]))
    return cases


def all_cases() -> list[Case]:
    out: list[Case] = []
    for cmd in _subparsers():
        for action in _actions(cmd):
            out += _value_cases(cmd, action) + _file_cases(cmd, action)
    return out


CASES = all_cases()


# --------------------------------------------------------------------------- the matrix
def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``main(argv)`` in-process: (exit status, stderr); a traceback counts as stderr."""
    import traceback

    try:
        status = main(argv)
    except SystemExit as exc:  # older parsers exit from argparse
        status = exc.code if isinstance(exc.code, int) else 2
    except BaseException:  # noqa: BLE001 - the failure we are looking for
        err = capsys.readouterr().err
        return 99, err + "Traceback (most recent call last):\n" + traceback.format_exc()
    return int(status or 0), capsys.readouterr().err


def _log(case: Case, problems: list[str]) -> None:
    path = os.environ.get("PEDRANK_MATRIX_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{case.category}\t{case.name}\t{'fail' if problems else 'pass'}\t"
                     f"{'; '.join(problems)}\n")


def check_contract(case: Case, status: int, err: str, e: dict[str, Path]) -> list[str]:
    """The contract violations of one CLI outcome (empty when it is fine)."""
    problems = []
    lines = [ln for ln in err.splitlines() if ln.strip() and "warning:" not in ln]
    if "Traceback" in err:
        problems.append("traceback")
    if "allow_pickle" in err:
        problems.append("suggests allow_pickle")
    if case.bad:
        if status != 2:
            problems.append(f"exit status {status}, expected 2")
        if len(lines) != 1:
            problems.append(f"{len(lines)} stderr lines, expected 1")
        wanted = case.names(e).split("|")
        # case-insensitive: argparse names a positional by its metavar (ACTION for action)
        if lines and not any(w and w.lower() in lines[-1].lower() for w in wanted):
            problems.append(f"message does not name {wanted[0]!r}")
    else:
        if status not in (0, 1, 2):
            problems.append(f"exit status {status}")
        if status != 0 and len(lines) != 1:
            problems.append(f"{len(lines)} stderr lines, expected 1")
    return problems


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cli_matrix(case: Case, env: dict[str, Path], capsys: pytest.CaptureFixture[str],
                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEDRANK_MEMORY_BUDGET", "32M")
    monkeypatch.setenv("PEDRANK_CACHE", str(env["root"] / "cache"))
    monkeypatch.delenv("PEDRANK_DEBUG", raising=False)
    status, err = run_cli(case.build(env), capsys)
    problems = check_contract(case, status, err, env)
    _log(case, problems)
    if problems and case.cmd in FOREIGN:
        pytest.xfail(f"{FOREIGN[case.cmd]}: {'; '.join(problems)}")
    assert not problems, f"{'; '.join(problems)}\nstderr: {err[-2000:]}"


def test_matrix_covers_every_subcommand_and_option() -> None:
    """Every sub-command contributes cases, and every valued option is exercised."""
    covered = {(c.cmd, c.name.split(" ")[1]) for c in CASES}
    for cmd in _subparsers():
        valued = [a for a in _actions(cmd) if a.nargs != 0 and a.dest != "command"]
        for action in valued:
            assert (cmd, _flag(action)) in covered, f"{cmd} {_flag(action)} has no case"
    assert len(CASES) > 150


# --------------------------------------------------------------------------- special cases
@dataclass(frozen=True)
class Special:
    category: str
    name: str
    build: Callable[[dict[str, Path]], tuple[list[str], dict[str, str]]]
    names: str


def _store_corrupt(e: dict[str, Path]) -> tuple[list[str], dict[str, str]]:
    res = e["root"] / "corrupt-store"
    res.mkdir(exist_ok=True)
    (res / "results.sqlite").write_bytes(b"this is not an SQLite database" * 100)
    return [*base_argv("bench", e, ""), "--results", str(res)], {}


def _store_is_dir(e: dict[str, Path]) -> tuple[list[str], dict[str, str]]:
    res = e["root"] / "dir-store"
    (res / "results.sqlite").mkdir(parents=True, exist_ok=True)
    return [*base_argv("bench", e, ""), "--results", str(res)], {}


def _image_folder(e: dict[str, Path], bad: str) -> Path:
    Image = pytest.importorskip("PIL.Image", reason="image folders need Pillow")  # noqa: N806

    root = e["root"] / f"images-{bad}"
    for c in ("a", "b"):
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(2):
            Image.new("L", (12, 12), color=40 * i).save(root / c / f"{i}.png")
    if bad == "unreadable":
        (root / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 10)
    else:
        Image.new("L", (9000, 9000)).save(root / "b" / "huge.png")
    return root


def _extract_images(bad: str) -> Callable[[dict[str, Path]], tuple[list[str], dict[str, str]]]:
    def build(e: dict[str, Path]) -> tuple[list[str], dict[str, str]]:
        argv = base_argv("extract", e, "")
        i = argv.index("--dataset")
        argv[i + 1] = str(_image_folder(e, bad))
        return argv, {}

    return build


SPECIALS = [
    Special("stores", "bench: corrupt results.sqlite", _store_corrupt, "results.sqlite"),
    Special("stores", "bench: results.sqlite is a folder", _store_is_dir, "results.sqlite"),
    Special("images", "extract: an unreadable image in the folder",
            _extract_images("unreadable"), "broken.png"),
    Special("images", "extract: a 9000 x 9000 PNG", _extract_images("huge"), "huge.png"),
    Special("numeric options", "score: --max-steps 100000000 --exit-ratio -1",
            lambda e: ([*base_argv("score", e, ""), "--ped", "--max-steps", "100000000",
                        "--exit-ratio=-1"], {}), "--max-steps|--exit-ratio"),
    Special("numeric options", "score: --ped without source statistics",
            lambda e: ([*base_argv("score", e, "")[:1], str(e["nosource"]), "--ped"],
                       {}), "--ped-fallback target"),
    Special("device", "score: --device with a metric without torch back end",
            lambda e: ([*base_argv("score", e, ""), "-m", "nleep", "--device", "cpu"], {}),
            "--device"),
]


@pytest.mark.parametrize("special", SPECIALS, ids=[s.name for s in SPECIALS])
def test_cli_special_cases(special: Special, env: dict[str, Path],
                           capsys: pytest.CaptureFixture[str],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEDRANK_MEMORY_BUDGET", "32M")
    monkeypatch.delenv("PEDRANK_DEBUG", raising=False)
    argv, extra_env = special.build(env)
    for k, v in extra_env.items():
        monkeypatch.setenv(k, v)
    status, err = run_cli(argv, capsys)
    case = Case(special.category, "special", special.name, lambda e: argv, True,
                lambda e: special.names)
    problems = check_contract(case, status, err, env)
    _log(case, problems)
    assert not problems, f"{'; '.join(problems)}\nstderr: {err[-2000:]}"


# --------------------------------------------------------------------------- subprocesses
def _pedrank(args: list[str], timeout: float = 120,
             **env: str) -> subprocess.CompletedProcess[str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    full_env = {**os.environ, "PYTHONPATH": src}
    full_env.pop("PEDRANK_DEBUG", None)
    full_env.update(env)
    return subprocess.run([sys.executable, "-m", "pedrank", *args], capture_output=True,
                          text=True, timeout=timeout, env=full_env, check=False)


def _subprocess_case(category: str, name: str, proc: subprocess.CompletedProcess[str],
                     names: str, status: int = 2) -> None:
    case = Case(category, "subprocess", name, lambda e: [], status == 2, lambda e: names)
    problems = check_contract(case, proc.returncode, proc.stderr, {})
    if proc.returncode != status:
        problems.append(f"exit status {proc.returncode}, expected {status}")
    _log(case, problems)
    assert not problems, f"{'; '.join(problems)}\nstderr: {proc.stderr[-2000:]}"


def test_subprocess_npy_where_npz_expected(env: dict[str, Path]) -> None:
    proc = _pedrank(["score", str(env["bad:npy"])])
    _subprocess_case("input files", "subprocess: score FILE.npy", proc, "npy.npz")
    assert "numpy.savez" in proc.stderr  # the fix, not numpy's allow_pickle advice


def test_scheduler_that_does_not_answer(env: dict[str, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("distributed", reason="the Dask executor needs dask.distributed")
    argv = [*base_argv("bench", env, ""), "--scheduler", "tcp://127.0.0.1:9",
            "--scheduler-timeout", "1", "--results", str(env["root"] / "res-dask")]
    status, err = run_cli(argv, capsys)
    case = Case("scheduler", "bench", "bench --scheduler nobody-listening", lambda e: argv,
                True, lambda e: "did not answer")
    problems = check_contract(case, status, err, env)
    _log(case, problems)
    assert not problems, f"{'; '.join(problems)}\nstderr: {err[-2000:]}"


def test_unexpected_error_points_to_debug(env: dict[str, Path],
                                          capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """An internal error is one line naming PEDRANK_DEBUG; with it, the exception propagates."""
    import pedrank.core.scoring as scoring  # score_cmd imports score inside run()

    def boom(*args: object, **kwargs: object) -> float:
        raise AttributeError("injected")

    monkeypatch.setattr(scoring, "score", boom)
    monkeypatch.delenv("PEDRANK_DEBUG", raising=False)
    assert main(["score", str(env["good"]), "-m", "logme"]) == 1
    err = capsys.readouterr().err
    assert "PEDRANK_DEBUG=1" in err and "injected" in err
    assert len(err.strip().splitlines()) == 1
    monkeypatch.setenv("PEDRANK_DEBUG", "1")
    with pytest.raises(AttributeError, match="injected"):
        main(["score", str(env["good"]), "-m", "logme"])


def test_value_reading_is_one_parser() -> None:
    """--metric-option and --ped-param read VALUE alike (null, numbers, quoted text)."""
    from pedrank.cli._common import parse_value

    assert parse_value("null") is None and parse_value("None") is None
    assert parse_value("5") == 5 and isinstance(parse_value("5"), int)
    assert parse_value("0.8") == 0.8 and parse_value("true") is True
    assert parse_value('"5"') == "5" and parse_value("diag") == "diag"
    assert parse_value("[1, 2.5]") == [1, 2.5]
    for bad in ("1e400", "nan", "-inf", "[1e400]"):
        with pytest.raises(ValueError, match="finite"):
            parse_value(bad)



def test_metric_option_kinds_follow_the_metric_signature(env: dict[str, Path],
                                                         capsys: pytest.CaptureFixture[str]):
    """Lists reach sequence parameters, flags take true/false, numbers stay numbers."""
    good = str(env["good"])
    assert main(["score", good, "-m", "etran", "-o", "weights=[1, 0.5, 1]"]) == 0
    assert main(["score", good, "-m", "logme", "-o", "regression=false"]) == 0
    capsys.readouterr()
    assert main(["score", good, "-m", "logme", "-o", "regression=5"]) == 2
    assert "true or false" in capsys.readouterr().err
    assert main(["score", good, "-m", "nleep", "-o", "ratio=2.5"]) == 2
    assert "integer" in capsys.readouterr().err


def test_numeric_types_return_a_finite_in_range_value_or_refuse() -> None:
    """Property: ``number`` never lets a non-finite or out-of-range value through."""
    hypothesis = pytest.importorskip("hypothesis", reason="property tests need hypothesis")
    st = hypothesis.strategies
    from pedrank.cli._common import number, parse_value

    texts = st.one_of(st.text(max_size=12), st.floats().map(repr), st.integers().map(str),
                      st.sampled_from(["1e400", "-1e400", "nan", "inf", "0x10", "1_0", " 7 "]))

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(texts)
    def check(text: str) -> None:
        for parse in (number(float, lo=0.0, hi=1.0), number(int, lo=1, hi=1000),
                      number(float, lo=0.0, hi=1e3, lo_open=True)):
            try:
                value = parse(text)
            except argparse.ArgumentTypeError:
                continue
            assert math.isfinite(value) and parse.lo <= value <= parse.hi
            assert not (parse.lo_open and value == parse.lo)
        try:
            value = parse_value(text)
        except ValueError:
            return
        assert not (isinstance(value, float) and not math.isfinite(value))

    check()
