"""load_data: table files, datasets folders, image folders, built-in names, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from pedrank.datasets.images import ImageDataset
from pedrank.datasets.resolve import load_data
from pedrank.datasets.tables import TextDataset, read_table

pd = pytest.importorskip("pandas", reason="table files are read with pandas")

TEXTS = {
    "sport": ["the match ended in a draw", "a late goal won the cup", "the team lost at home",
              "fans cheered the striker", "the coach praised the defence", "rain stopped play"],
    "food": ["add salt to the soup", "bake the bread for an hour", "the cake needs sugar",
             "slice the onions thinly", "serve the pasta hot", "whisk two eggs"],
    "tech": ["the laptop will not boot", "update the phone software", "the server is down",
             "a new chip doubles speed", "reset the router", "the app crashed again"],
}


def _frame():
    rows = [(t, c) for c, ts in TEXTS.items() for t in ts]
    return pd.DataFrame({"Sentence": [r[0] for r in rows], "Category": [r[1] for r in rows],
                         "score": np.arange(len(rows)) * 0.5})


@pytest.fixture()
def csv_file(tmp_path):
    path = tmp_path / "news.csv"
    _frame().rename(columns={"Category": "Label"}).to_csv(path, index=False)
    return path


def test_csv_default_columns_are_case_insensitive(csv_file):
    ds = load_data(csv_file)
    assert isinstance(ds, TextDataset) and ds.modality == "text" and len(ds) == 18
    assert ds.classes == ("food", "sport", "tech") and ds.inputs[0] == TEXTS["sport"][0]
    assert ds.labels.dtype.kind == "U" and ds.name == "news"


@pytest.mark.parametrize("suffix", [".tsv", ".jsonl", ".parquet"])
def test_other_formats_give_the_same_dataset(tmp_path, suffix):
    frame = _frame()
    path = tmp_path / f"news{suffix}"
    if suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        pytest.importorskip("pyarrow", reason="parquet needs pyarrow")
        frame.to_parquet(path)
    ds = load_data(path, label_column="category")
    assert ds.inputs == frame["Sentence"].tolist()
    np.testing.assert_array_equal(ds.labels, frame["Category"].to_numpy())
    assert ds.fingerprint == read_table(path, label_column="CATEGORY").fingerprint


def test_regression_keeps_float64_targets(tmp_path):
    path = tmp_path / "scores.csv"
    _frame().to_csv(path, index=False)
    ds = load_data(path, label_column="score", task="regression")
    assert ds.labels.dtype == np.float64 and ds.classes == ()
    np.testing.assert_array_equal(ds.labels, np.arange(18) * 0.5)
    with pytest.raises(ValueError, match="'Category' is not numeric.*regression"):
        load_data(path, label_column="category", task="regression")


def test_max_samples_is_class_stratified_and_seeded(csv_file):
    a = load_data(csv_file, max_samples=9, seed=1)
    assert len(a) == 9 and sorted(np.unique(a.labels, return_counts=True)[1]) == [3, 3, 3]
    b = load_data(csv_file, max_samples=9, seed=1)
    assert a.inputs == b.inputs and a.fingerprint == b.fingerprint
    assert a.fingerprint != load_data(csv_file).fingerprint


@pytest.mark.parametrize(
    "content, kwargs, match",
    [
        ("", {}, "is empty"),
        ("text,label\n", {}, "has no rows"),
        ("body,label\nhello,a\nbye,b\n", {}, r"no text column \(any of text, sentence.*\['body', "
                                              r"'label'\].*--text-column"),
        ("text,label\nhello,a\nbye,b\n", {"label_column": "y"}, r"no label column \('y'\)"),
        ("text,label\nhello,a\nbye,a\n", {}, "single class \\('a'\\).*at least two classes"),
        ("text,label\nhello,a\nbye,\n", {}, "empty cells"),
    ],
)
def test_bad_tables_give_one_line_naming_the_file(tmp_path, content, kwargs, match):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=match) as info:
        load_data(path, **kwargs)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_unknown_inputs(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'nope'.*digits.*wordnet-supersense"):
        load_data("nope")
    with pytest.raises(ValueError, match="no such file or folder"):
        load_data(str(tmp_path / "missing.csv"))
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    with pytest.raises(ValueError, match="unsupported file type '.xlsx'"):
        load_data(tmp_path / "x.xlsx")
    with pytest.raises(ValueError, match="task must be"):
        load_data("digits", task="ranking")


# --------------------------------------------------------------------------- image folders


def _digits_folder(root, n_per_class=3, classes=(0, 1, 2)):
    """A folder of scikit-learn digits as PNG files, one sub-folder per class."""
    Image = pytest.importorskip("PIL.Image")
    from sklearn.datasets import load_digits

    d = load_digits()
    for c in classes:
        (root / str(c)).mkdir(parents=True)
        for k, im in enumerate(d.images[d.target == c][:n_per_class]):
            Image.fromarray((im * 255 / 16).astype(np.uint8)).save(root / str(c) / f"{k}.png")
    return root


def test_image_folder_of_digits(tmp_path):
    ds = load_data(_digits_folder(tmp_path / "digits"), max_samples=6)
    assert isinstance(ds, ImageDataset) and ds.modality == "vision" and len(ds) == 6
    assert ds.classes == ("0", "1", "2") and ds.inputs[:].shape == (6, 8, 8)


def test_image_folder_errors(tmp_path):
    root = _digits_folder(tmp_path / "one", classes=(4,))
    with pytest.raises(ValueError, match=r"one: images of a single class \(4\).*two classes"):
        load_data(root)
    root = _digits_folder(tmp_path / "corrupt")
    (root / "1" / "broken.png").write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match="not a readable image") as info:
        load_data(root)
    assert "broken.png" in str(info.value) and "remove or convert" in str(info.value)
    with pytest.raises(ValueError, match="regression needs"):
        load_data(_digits_folder(tmp_path / "ok"), task="regression")


def test_builtin_names():
    ds = load_data("digits", max_samples=50)
    assert ds.modality == "vision" and len(ds) == 50
    with pytest.raises(ValueError, match="regression needs numeric targets"):
        load_data("digits", task="regression")


def test_builtin_text_dataset():
    from pedrank.datasets.text import TextDatasetUnavailable

    try:
        ds = load_data("fortune-category", max_samples=40)
    except TextDatasetUnavailable as exc:
        pytest.skip(f"Debian fortunes not installed: {exc}")
    assert isinstance(ds, TextDataset) and len(ds) == 40 and len(ds.classes) >= 2


def test_integral_float_class_ids_become_integers(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("text,label\na,1.0\nb,0.0\nc,1.0\n")
    ds = load_data(path)
    assert ds.labels.dtype == np.int64 and ds.classes == ("0", "1")


def test_csv_of_debian_fortunes(tmp_path):
    from pedrank.datasets import TextDatasetUnavailable, load_text_dataset

    try:
        texts, labels = load_text_dataset("fortune-category", max_per_class=4)
    except TextDatasetUnavailable as exc:
        pytest.skip(f"Debian fortunes not installed: {exc}")
    path = tmp_path / "fortunes.csv"
    pd.DataFrame({"content": texts, "class": labels}).to_csv(path, index=False)
    ds = load_data(path, max_samples=len(texts) // 2)
    assert set(ds.inputs) <= set(texts) and len(ds) == len(texts) // 2
    assert set(ds.classes) == set(labels)


def test_one_dispatcher_for_every_name(tmp_path):
    # load_data resolves every name; load_dataset / load_text_dataset are its narrower views.
    import pedrank.datasets as D

    assert set(D.builtin_datasets()) == set(D.DATASETS) | set(D.TEXT_DATASETS)
    assert D.load_dataset("digits", 30).fingerprint == load_data("digits", max_samples=30
                                                                ).fingerprint
    with pytest.raises(ValueError, match="is a text dataset"):
        D.load_dataset("fortune-category")
    with pytest.raises(ValueError, match="unknown text dataset 'digits'"):
        D.load_text_dataset("digits")
    for name in ("load_data", "TextDataset", "ImageDataset", "FolderImages", "ArrowImages",
                 "UnreadableImageError", "TextDatasetUnavailable", "read_table"):
        assert name in D.__all__ and hasattr(D, name)
