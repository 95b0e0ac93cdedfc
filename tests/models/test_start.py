"""Where training starts: the shipped base, random weights, a local file, a published name.

Nothing here reaches the network: a published name's download is replaced by a stand-in that
fails (offline) or writes a file (online); the real download is Ultralytics' own.
"""

from __future__ import annotations

import pytest

from hitl_active.cli import main
from hitl_active.models import start
from hitl_active.models.start import StartModelError, resolve_start, shipped_base


def test_scratch_and_yaml_names_start_from_random_weights() -> None:
    assert resolve_start("scratch") == "yolo11n.yaml"
    assert resolve_start("yolov8s.yaml") == "yolov8s.yaml"
    assert start.is_random_start("scratch") and start.is_random_start("yolo11n.yaml")
    assert not start.is_random_start("base") and not start.is_random_start("w.pt")


def test_a_local_file_is_used_as_it_is_and_a_missing_one_is_named(tmp_path) -> None:
    weights = tmp_path / "mine.pt"
    weights.write_bytes(b"x")
    assert resolve_start(str(weights)) == str(weights)
    with pytest.raises(StartModelError, match=r"gone\.pt not found.*--model base"):
        resolve_start(str(tmp_path / "gone.pt"))
    with pytest.raises(StartModelError, match="not a file"):
        resolve_start("resnet50")


def test_the_shipped_base_is_in_the_package_and_loads_as_a_detector() -> None:
    path = shipped_base()
    assert resolve_start("base") == str(path)
    assert path.is_file() and path.stat().st_size < 8 * 2**20
    from hitl_active.models.ultra import ultralytics_yolo

    model = ultralytics_yolo()(str(path))
    assert model.task == "detect" and len(model.names) > 20 and "person" in model.names.values()


def test_a_missing_base_says_what_to_pass(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(start, "shipped_base", lambda: tmp_path / "nothing.pt")
    with pytest.raises(StartModelError, match=r"missing from this install.*--model scratch"):
        resolve_start("base")


def test_a_published_name_offline_is_one_line_saying_to_pass_a_file(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def offline(name, target):
        raise ConnectionError("Download failure for https://github.com/... ")

    monkeypatch.setattr(start, "_download", offline)
    with pytest.raises(StartModelError) as err:
        resolve_start("yolo11n.pt")
    message = str(err.value)
    assert "offline" in message and "--model /path/to/yolo11n.pt" in message
    assert "\n" not in message and "github" not in message


def test_a_published_name_online_is_downloaded_once_into_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    calls = []

    def online(name, target):
        calls.append(name)
        target.write_bytes(b"weights")

    monkeypatch.setattr(start, "_download", online)
    first = resolve_start("yolo11n.pt")
    assert first == str(tmp_path / "cache" / "hitl-active" / "weights" / "yolo11n.pt")
    assert resolve_start("yolo11n.pt") == first and calls == ["yolo11n.pt"]


def test_init_with_a_published_name_offline_exits_2_with_one_line(monkeypatch, tmp_path, capsys):
    from PIL import Image

    pool = tmp_path / "pool"
    pool.mkdir()
    for i in range(3):
        Image.new("RGB", (40, 30), (i * 50, 90, 200)).save(pool / f"{i}.jpg")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(start, "_download", lambda n, t: (_ for _ in ()).throw(OSError("no")))
    args = [
        "init",
        str(tmp_path / "ws"),
        "--images",
        str(pool),
        "--classes",
        "a",
        "--gold-size",
        "1",
    ]
    assert main([*args, "--model", "yolo11n.pt"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "yolo11n.pt" in err and "local file" in err
    assert not (tmp_path / "ws").exists()


def test_init_warns_when_random_weights_meet_real_photos(tmp_path, caplog) -> None:
    from PIL import Image

    from hitl_active.data.synthetic import SyntheticSpec, make_synthetic_dataset
    from hitl_active.workspace.workspace import Workspace

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        Image.new("RGB", (40, 30), (i * 50, 90, 200)).save(photos / f"{i}.jpg")
    shapes = make_synthetic_dataset(
        tmp_path / "shapes", SyntheticSpec(n_images=4, seed=1), progress=False
    )
    for name, pool, warned in (("a", photos, True), ("b", shapes.images_dir, False)):
        caplog.clear()
        args = ["init", str(tmp_path / name), "--images", str(pool), "--classes", "x"]
        assert main([*args, "--gold-size", "1", "--model", "scratch"]) == 0
        said = "random weights" in caplog.text and "hundreds of labels" in caplog.text
        assert said == warned, name
    caplog.clear()  # the default start is the photo base: nothing to warn about
    args = ["init", str(tmp_path / "c"), "--images", str(photos), "--classes", "x"]
    assert main([*args, "--gold-size", "1"]) == 0
    assert "random weights" not in caplog.text
    assert Workspace.open(tmp_path / "c").config.model == "base"


@pytest.mark.slow
def test_training_from_the_base_remakes_its_head_for_the_workspace_classes(tiny_dataset, tmp_path):
    """The base detects 80 photo classes; one epoch on four shapes gives a four-class model
    whose backbone weights came from the base."""
    import torch

    from hitl_active.data.labelled import load_labelled_dataset
    from hitl_active.models import TrainConfig, prepare_yolo_dataset, train_detector

    items, names = load_labelled_dataset(tiny_dataset.root)
    data_yaml = prepare_yolo_dataset(items[:16], items[16:20], names, tmp_path / "data")
    config = TrainConfig(model="base", epochs=1, imgsz=64, batch=8, extra={"val": False})
    result = train_detector(data_yaml, tmp_path / "run", config)
    trained = torch.load(result.weights, map_location="cpu", weights_only=False)["model"]
    base = torch.load(shipped_base(), map_location="cpu", weights_only=False)["model"]
    assert list(trained.names.values()) == list(names) and len(base.names) > 20
    first = next(iter(base.state_dict()))  # the stem convolution: carried over, then tuned
    a, b = base.state_dict()[first].float(), trained.state_dict()[first].float()
    assert torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1] > 0.9
