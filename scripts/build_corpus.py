"""Build the photo pre-training corpus (YOLO) and the three held-out benchmark sets (VOC).

    .venv/bin/python scripts/build_corpus.py --mirrors /work/.mirror --out /work/build
    .venv/bin/python scripts/build_corpus.py --source coco128=/src/coco128_yolo ... \
        --out /work/build

Inputs are fetched copies of the source repositories listed in docs/base_model.md: a bare git
mirror (read at the documented commit into ``OUT/sources``; files missing from a partial
mirror are skipped) or a checked-out tree, each given as ``--source NAME=PATH`` (NAME the
short name below, the repository name or ``owner/name``) or found under ``--mirrors DIR`` as
``DIR/owner+name/repo``, ``DIR/owner+name`` or ``DIR/name``. Writes

* ``OUT/corpus``: ``images/{train,val}/*.jpg``, ``labels/{train,val}/*.txt``, ``data.yaml``
  and ``SOURCES.md``, by the rules of docs/base_model.md (JPEG quality 90, long side at most
  640 px; images without a box, unreadable or exact duplicates dropped; ``val`` when
  ``int(md5("<source>/<file>")[:8], 16) % 10 == 0``; per-source caps by md5 of the file name;
  class names lower-cased and merged, ids ordered by box count; the details those rules
  leave open are in docs/base_model.md, "Rebuilding");
* ``OUT/bench/{kangaroo,license_plates,fruit}``: Pascal VOC folders (``images/`` +
  ``annotations/``, as ``../shared/datasets/raccoon-voc``) for ``scripts/bench_simulate.py
  --dataset``, long side at most 640 px.

Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger("build_corpus")

MAX_SIDE = 640
JPEG_QUALITY = 90
#: Boxes narrower or lower than this in the written corpus image are dropped (3 COCO boxes).
MIN_BOX_PX = 2.0
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
#: Class names merged after lower-casing.
MERGE = {"motorbike": "motorcycle"}
BENCH_NAMES = ("kangaroo", "license_plates", "fruit")


@dataclass(frozen=True)
class CorpusSource:
    """One YOLO-format repository of the corpus.

    ``name`` is the ``<source>`` of the held-out rule and the prefix of its output files;
    ``root`` the dataset folder in the repository, whose relative paths are the ``<file>``.
    A label file is found from an image's path relative to ``root/images``: the same path
    under ``root/labels``, an ``images`` folder in it read as ``labels``, suffix ``.txt``.
    """

    name: str
    repo: str
    commit: str
    root: str
    images: str
    labels: str
    names_file: str
    cap: int | None = None


@dataclass(frozen=True)
class BenchSource:
    """One Pascal VOC repository of a held-out benchmark set."""

    set_name: str
    repo: str
    commit: str
    annotation_dirs: tuple[str, ...]
    image_dirs: tuple[str, ...]
    keep: Callable[[str], bool] = field(default=lambda stem: True)
    rename: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.repo.split("/", 1)[1]


CORPUS_SOURCES = (
    CorpusSource(
        "coco128", "lightly-ai/coco128_yolo", "6d6f7a0", "", "images", "object_detection/labels",
        "object_detection/config.yaml",
    ),
    CorpusSource(
        "highway", "adeirman46/Level2-FSD", "2c9d3ac",
        "yolov9_custom_object_detection/Highway-Object-Detection-40", "", "", "data.yaml",
    ),
    CorpusSource(
        "pot-curtain-toaster", "Arka-h/pot-curtain-toaster-object-detection-classes-dataset",
        "b9ceea7", "", "", "", "train/_darknet.labels", cap=2000,
    ),
    CorpusSource(
        "lion", "Thiganth-K/Asiatic-lion-detection", "3e58dfe", "Asiatic-lion/datasets", "", "",
        "data.yaml", cap=1000,
    ),
)  # fmt: skip

BENCH_SOURCES = (
    BenchSource("kangaroo", "experiencor/kangaroo", "882bbbd", ("annots",), ("images",)),
    BenchSource(
        "license_plates", "yoavmai/Car-license-plate-detection", "8c56aa9", ("annotations",),
        ("images",), keep=lambda stem: re.fullmatch(r"Cars\d+", stem) is not None,
        rename={"licence": "license plate"},
    ),
    BenchSource(
        "fruit", "duhee01/fruit_object_detection", "142200e",
        ("train_zip/train", "test_zip/test"), ("train_zip/train", "test_zip/test"),
    ),
)  # fmt: skip


def md5_hex(data: bytes | str) -> str:
    """The md5 hex digest of bytes or of a UTF-8 string."""
    return hashlib.md5(data.encode() if isinstance(data, str) else data).hexdigest()


def is_val(source: str, file: str) -> bool:
    """The documented held-out rule: about one file in ten, fixed by its name."""
    return int(md5_hex(f"{source}/{file}")[:8], 16) % 10 == 0


# --- sources -------------------------------------------------------------------------------


def is_bare_git(path: Path) -> bool:
    return (
        (path / "HEAD").is_file() and (path / "objects").is_dir() and not (path / ".git").exists()
    )


def extract_git(git_dir: Path, commit: str, prefix: str, dest: Path) -> Path:
    """The files under ``prefix`` at ``commit`` of a bare mirror, written below ``dest``.

    Blobs a partial mirror lacks are skipped (logged by count); links are skipped.
    """
    git = ["git", f"--git-dir={git_dir}"]
    full = subprocess.run(
        [*git, "rev-parse", f"{commit}^{{commit}}"], capture_output=True, text=True, check=True
    ).stdout.strip()
    stamp = dest / ".commit"
    if stamp.is_file() and stamp.read_text().strip() == full:
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    listing = subprocess.run(
        [*git, "ls-tree", "-r", "-z", full, "--", prefix or "."], capture_output=True, check=True
    ).stdout
    blobs = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, path = record.split(b"\t", 1)
        mode, kind, sha = meta.decode().split()
        if kind == "blob" and mode != "120000":
            blobs.append((sha, path.decode()))
    missing = 0
    with subprocess.Popen(
        [*git, "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        for sha, path in blobs:
            proc.stdin.write(sha.encode() + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if header[-1] == b"missing":
                missing += 1
                continue
            data = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        proc.stdin.close()
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(full + "\n")
    logger.info(
        "%s @ %s: %d files extracted, %d missing from the mirror",
        git_dir,
        full[:7],
        len(blobs) - missing,
        missing,
    )
    return dest


def find_source(
    repo: str, given: dict[str, Path], mirrors: Path | None, alias: str | None = None
) -> Path:
    """The folder given (by ``owner/name``, name or ``alias``) or found for ``repo``."""
    owner, name = repo.split("/", 1)
    for key in (repo, name, alias):
        if key in given:
            return given[key]
    if mirrors is not None:
        for cand in (
            mirrors / f"{owner}+{name}" / "repo",
            mirrors / f"{owner}+{name}",
            mirrors / name,
        ):
            if cand.is_dir():
                return cand
    raise FileNotFoundError(f"no copy of {repo}: pass --source {name}=PATH or --mirrors DIR")


def source_tree(
    repo: str,
    commit: str,
    prefix: str,
    given: dict[str, Path],
    mirrors: Path | None,
    work: Path,
    alias: str | None = None,
) -> Path:
    """A readable tree of ``repo``: the folder itself, or files extracted from a bare mirror."""
    path = find_source(repo, given, mirrors, alias)
    if is_bare_git(path):
        return extract_git(path, commit, prefix, work / repo.replace("/", "+"))
    return path


# --- images --------------------------------------------------------------------------------


def reencode(data: bytes) -> tuple[bytes, int, int, float]:
    """JPEG bytes (quality 90, long side at most 640), new width, height and the scale used.

    Pixels are kept as stored (no EXIF rotation), as the source labels were drawn on them.
    """
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.load()
        rgb = im.convert("RGB")
    w, h = rgb.size
    scale = min(1.0, MAX_SIDE / max(w, h))
    if scale < 1.0:
        rgb = rgb.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
    buf = io.BytesIO()
    rgb.save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue(), rgb.size[0], rgb.size[1], scale


# --- corpus --------------------------------------------------------------------------------


def read_names(path: Path) -> list[str]:
    """Class names of a YOLO export: data.yaml ``names`` (list or dict) or one name a line."""
    if path.suffix in (".yaml", ".yml"):
        import yaml

        names = yaml.safe_load(path.read_text())["names"]
        if isinstance(names, dict):
            return [str(names[k]) for k in sorted(names, key=int)]
        return [str(n) for n in names]
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def merged(name: str) -> str:
    low = name.strip().lower()
    return MERGE.get(low, low)


def read_yolo_boxes(path: Path) -> list[tuple[int, float, float, float, float]]:
    """Boxes ``(class, cx, cy, w, h)`` of a YOLO label file; polygons become their boxes.

    Boxes are clipped to the image; empty ones and malformed lines are left out.
    """
    boxes = []
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) < 5:
            continue
        try:
            cls, values = int(float(parts[0])), [float(v) for v in parts[1:]]
        except ValueError:
            continue
        if len(values) == 4:
            cx, cy, w, h = values
            x1, y1, x2, y2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
        elif len(values) >= 6 and len(values) % 2 == 0:
            xs, ys = values[0::2], values[1::2]
            x1, y1, x2, y2 = min(xs), min(ys), max(xs), max(ys)
        else:
            continue
        x1, y1 = max(0.0, x1), max(0.0, y1)
        x2, y2 = min(1.0, x2), min(1.0, y2)
        if x2 > x1 and y2 > y1:
            boxes.append((cls, (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1))
    return boxes


@dataclass
class CorpusItem:
    source: str
    image: Path
    file: str
    boxes: list[tuple[str, float, float, float, float]]


def corpus_candidates(src: CorpusSource, tree: Path) -> Iterator[tuple[Path, Path, str]]:
    """``(image, label file, file)`` for every image of a source with a label file.

    ``file`` is the image's path relative to the source's dataset folder.
    """
    root = tree / src.root
    image_root = root / src.images
    for image in sorted(p for p in image_root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        rel = image.relative_to(image_root)
        parts = ["labels" if p == "images" else p for p in rel.parent.parts]
        label = (root / src.labels).joinpath(*parts, rel.stem + ".txt")
        if label.is_file():
            yield image, label, image.relative_to(root).as_posix()


def collect_corpus(src: CorpusSource, tree: Path, seen: set[str], stats: dict) -> list[CorpusItem]:
    """The images of one source that are kept: capped, with a box, not seen before.

    Files are read in the order of the md5 of their file name (so of two identical images
    the one first in that order stays), and a capped source keeps the first ``cap`` of them.
    """
    names = [merged(n) for n in read_names(tree / src.root / src.names_file)]
    candidates = sorted(corpus_candidates(src, tree), key=lambda c: (md5_hex(c[0].name), c[2]))
    stats.update(files=len(candidates), no_box=0, duplicate=0, unreadable=0, tiny_boxes=0)
    if src.cap is not None:
        candidates = candidates[: src.cap]
    stats["after_cap"] = len(candidates)
    items = []
    for image, label, key in candidates:
        boxes = [(names[c], *xywh) for c, *xywh in read_yolo_boxes(label) if 0 <= c < len(names)]
        if not boxes:
            stats["no_box"] += 1
            continue
        digest = md5_hex(image.read_bytes())
        if digest in seen:
            stats["duplicate"] += 1
            continue
        seen.add(digest)
        items.append(CorpusItem(src.name, image, key, boxes))
    return items


def out_stem(source: str, key: str, used: set[str]) -> str:
    """A unique, plain file stem for an output image."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(key).stem).strip("_.-")[:80] or "image"
    stem = f"{source}_{stem}"
    if stem in used:
        stem = f"{stem}_{md5_hex(key)[:8]}"
    used.add(stem)
    return stem


def build_corpus(trees: dict[str, Path], out: Path) -> dict:
    """Write OUT (the corpus folder) and return its figures."""
    if out.exists():
        shutil.rmtree(out)
    for split in ("train", "val"):
        (out / "images" / split).mkdir(parents=True)
        (out / "labels" / split).mkdir(parents=True)
    seen: set[str] = set()
    collected: list[tuple[CorpusItem, bool]] = []
    per_source: dict[str, dict] = {}
    for src in CORPUS_SOURCES:
        stats: dict = {}
        for item in collect_corpus(src, trees[src.repo], seen, stats):
            collected.append((item, is_val(item.source, item.file)))
        per_source[src.name] = stats
    used: set[str] = set()
    written: list[tuple[CorpusItem, str, str]] = []
    for item, val in collected:
        split = "val" if val else "train"
        try:
            jpeg, width, height, _ = reencode(item.image.read_bytes())
        except Exception as exc:  # any decoding failure drops the image
            logger.info("unreadable %s: %s", item.image, exc)
            per_source[item.source]["unreadable"] += 1
            continue
        boxes = [b for b in item.boxes if min(b[3] * width, b[4] * height) >= MIN_BOX_PX]
        per_source[item.source]["tiny_boxes"] += len(item.boxes) - len(boxes)
        if not boxes:
            per_source[item.source]["no_box"] += 1
            continue
        item.boxes = boxes
        stem = out_stem(item.source, item.file, used)
        (out / "images" / split / f"{stem}.jpg").write_bytes(jpeg)
        written.append((item, stem, split))
    counts = Counter(b[0] for item, _, _ in written for b in item.boxes)
    names = sorted(counts, key=lambda n: (-counts[n], n))
    ids = {n: i for i, n in enumerate(names)}
    for item, stem, split in written:
        lines = [f"{ids[n]} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}" for n, cx, cy, w, h in item.boxes]
        (out / "labels" / split / f"{stem}.txt").write_text("\n".join(lines) + "\n")
    data = {
        "path": str(out.resolve()),
        "train": "images/train",
        "val": "images/val",
        "names": dict(enumerate(names)),
    }
    import yaml

    (out / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    for src in CORPUS_SOURCES:
        mine = [(item, split) for item, _, split in written if item.source == src.name]
        classes = Counter(b[0] for item, _ in mine for b in item.boxes)
        per_source[src.name].update(
            repo=src.repo,
            commit=src.commit,
            images=len(mine),
            train=sum(s == "train" for _, s in mine),
            val=sum(s == "val" for _, s in mine),
            boxes=sum(classes.values()),
            classes=dict(classes.most_common()),
        )
    write_sources_md(out / "SOURCES.md", per_source, names, counts)
    return {
        "data_yaml": str(out / "data.yaml"),
        "images": len(written),
        "train": sum(s == "train" for *_, s in written),
        "val": sum(s == "val" for *_, s in written),
        "boxes": sum(counts.values()),
        "classes": len(names),
        "sources": per_source,
    }


def write_sources_md(path: Path, per_source: dict, names: list[str], counts: Counter) -> None:
    """Per-source and per-class figures of the corpus, as Markdown."""
    rows = [
        "# Sources of the corpus",
        "",
        "Built by `scripts/build_corpus.py`; see docs/base_model.md.",
        "",
        "| source | repository | commit | files | after cap | no box | duplicate | unreadable "
        "| images | train | val | boxes | boxes under 2 px | classes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in per_source.items():
        rows.append(
            f"| {name} | {s['repo']} | {s['commit']} | {s['files']} | {s['after_cap']} "
            f"| {s['no_box']} | {s['duplicate']} | {s['unreadable']} | {s['images']} "
            f"| {s['train']} | {s['val']} | {s['boxes']} | {s['tiny_boxes']} "
            f"| {len(s['classes'])} |"
        )
    rows += ["", "| id | class | boxes |", "|---|---|---|"]
    rows += [f"| {i} | {n} | {counts[n]} |" for i, n in enumerate(names)]
    path.write_text("\n".join(rows) + "\n")


# --- benchmark sets ------------------------------------------------------------------------


def voc_boxes(xml: Path) -> tuple[str, int, int, list[tuple[str, float, float, float, float]]]:
    """``<filename>``, ``<size>`` and the boxes (0-based ``x1, y1, x2, y2``) of a VOC file."""
    root = ET.parse(xml).getroot()

    def num(el: ET.Element, tag: str) -> float:
        return float((el.findtext(tag) or "0").strip())

    boxes = []
    for obj in root.iter("object"):
        bb = obj.find("bndbox")
        if bb is None:
            continue
        name = (obj.findtext("name") or "").strip()
        boxes.append(
            (name, num(bb, "xmin") - 1, num(bb, "ymin") - 1, num(bb, "xmax"), num(bb, "ymax"))
        )
    size = root.find("size")
    w, h = (int(num(size, "width")), int(num(size, "height"))) if size is not None else (0, 0)
    return (root.findtext("filename") or "").strip(), w, h, boxes


def bench_image(xml: Path, filename: str, image_dirs: list[Path]) -> Path | None:
    """The image an annotation names, else the one with its stem."""
    for d in image_dirs:
        if filename and (d / Path(filename).name).is_file():
            return d / Path(filename).name
    for d in image_dirs:
        for suffix in IMAGE_SUFFIXES:
            if (d / (xml.stem + suffix)).is_file():
                return d / (xml.stem + suffix)
    return None


def build_bench(src: BenchSource, tree: Path, out: Path) -> dict:
    """One benchmark set as a VOC folder (``images/`` + ``annotations/``) at OUT.

    Every annotation with a readable image and a box is kept, identical images included
    (license_plates holds a few near-repeats of one car, each labelled on its own).
    """
    import numpy as np

    from hitl_active.formats.core import ImageLabels
    from hitl_active.formats.voc import to_voc_xml

    if out.exists():
        shutil.rmtree(out)
    (out / "images").mkdir(parents=True)
    (out / "annotations").mkdir()
    image_dirs = [tree / d for d in src.image_dirs]
    xmls = sorted(x for d in src.annotation_dirs for x in (tree / d).glob("*.xml"))
    xmls = [x for x in xmls if src.keep(x.stem)]
    stats = Counter(files=len(xmls))
    names: list[str] = []
    class_boxes: Counter = Counter()
    for xml in xmls:
        filename, xml_w, xml_h, raw = voc_boxes(xml)
        image = bench_image(xml, filename, image_dirs)
        if image is None:
            stats["no_image"] += 1
            logger.info("%s: no image for %s", src.set_name, xml.name)
            continue
        data = image.read_bytes()
        try:
            from PIL import Image

            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
            jpeg, new_w, new_h, scale = reencode(data)
        except Exception as exc:  # any decoding failure drops the image
            stats["unreadable"] += 1
            logger.info("%s: unreadable %s: %s", src.set_name, image, exc)
            continue
        # The image's own size counts: license_plates' <size> is that of the image before
        # the repository resized it to 416 x 416, while its boxes are on the resized image.
        if xml_w > 0 and xml_h > 0 and (xml_w, xml_h) != (width, height):
            stats["stale_size"] += 1
        xyxy, cls = [], []
        for name, x1, y1, x2, y2 in raw:
            x1, y1 = max(0.0, x1), max(0.0, y1)
            x2, y2 = min(float(width), x2), min(float(height), y2)
            if x2 <= x1 or y2 <= y1:
                stats["empty_box"] += 1
                continue
            name = src.rename.get(name, name)
            if name not in names:
                names.append(name)
            xyxy.append([x1 * scale, y1 * scale, x2 * scale, y2 * scale])
            cls.append(names.index(name))
        if not xyxy:
            stats["no_box"] += 1
            logger.info("%s: no box in %s", src.set_name, xml.name)
            continue
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", xml.stem)
        if (out / "images" / f"{stem}.jpg").exists():
            stem = f"{stem}_{md5_hex(str(xml))[:8]}"
        (out / "images" / f"{stem}.jpg").write_bytes(jpeg)
        labels = ImageLabels(
            f"{stem}.jpg", new_w, new_h, np.array(xyxy, np.float32), np.array(cls, np.int64)
        )
        (out / "annotations" / f"{stem}.xml").write_text(to_voc_xml(labels, names))
        class_boxes.update(names[c] for c in cls)
        stats["images"] += 1
    (out / "classes.txt").write_text("\n".join(names) + "\n")
    return {
        "path": str(out),
        "repo": src.repo,
        "commit": src.commit,
        "images": stats["images"],
        "boxes": sum(class_boxes.values()),
        "classes": dict(class_boxes.most_common()),
        "annotations": stats["files"],
        "dropped": {k: v for k, v in stats.items() if k not in ("images", "files", "stale_size")},
        "stale_size": stats["stale_size"],
    }


# --- command line --------------------------------------------------------------------------


def parse_sources(values: list[str]) -> dict[str, Path]:
    given = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"--source wants NAME=PATH, got {value!r}")
        given[name] = Path(path).expanduser()
    return given


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a source repository's mirror or tree (NAME: short name, name or owner/name)",
    )
    p.add_argument(
        "--mirrors",
        type=Path,
        default=None,
        help="a folder holding the mirrors or trees (owner+name/repo, owner+name, name)",
    )
    p.add_argument("--out", type=Path, required=True, help="writes OUT/corpus and OUT/bench")
    p.add_argument("--only", choices=("corpus", "bench"), default=None)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    given = parse_sources(args.source)
    out: Path = args.out.expanduser()
    work = out / "sources"
    summary: dict = {}
    if args.only in (None, "corpus"):
        trees = {
            s.repo: source_tree(s.repo, s.commit, s.root, given, args.mirrors, work, s.name)
            for s in CORPUS_SOURCES
        }
        summary["corpus"] = build_corpus(trees, out / "corpus")
        logger.info(
            "corpus: %d images, %d boxes", summary["corpus"]["images"], summary["corpus"]["boxes"]
        )
    if args.only in (None, "bench"):
        summary["bench"] = {}
        for src in BENCH_SOURCES:
            tree = source_tree(src.repo, src.commit, "", given, args.mirrors, work, src.set_name)
            summary["bench"][src.set_name] = build_bench(src, tree, out / "bench" / src.set_name)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
