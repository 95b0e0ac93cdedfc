"""Small synthetic detection datasets for the demo, the tests and the benchmarks.

The images are shapes on textured backgrounds. The generator builds in what makes active
learning matter on real client data: several classes of unequal frequency (one of them
rare), near-duplicate frames (as from video), empty frames and different image sizes.

Near-duplicates come two ways: ``duplicate_fraction`` makes any frame a re-take of the
previous scene with that probability (short, geometric runs), and ``burst_fraction`` films
that share of scenes as a burst of ``burst_frames`` frames, as a parked camera does. With
bursts, most frames of a pool belong to a few long scenes, which is what a label budget spent
at random wastes itself on.

Output layout (YOLO convention, so Ultralytics finds the labels next to the images)::

    out_dir/
      images/000000.jpg ...
      labels/000000.txt ...    # "class cx cy w h", normalised
      classes.txt              # one class name per line
      manifest.json            # the spec, and which frames are near-duplicates of which
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from tqdm.auto import tqdm

__all__ = ["SyntheticDataset", "SyntheticSpec", "is_synthetic_pool", "make_synthetic_dataset"]

logger = logging.getLogger(__name__)


def is_synthetic_pool(images: str | Path) -> bool:
    """Whether ``images`` (a dataset folder or its ``images/``) was made by this module."""
    images = Path(images)
    return any((d / "manifest.json").is_file() for d in (images, images.parent))


SHAPES = ("circle", "square", "triangle", "cross", "diamond", "ring")


@dataclass(frozen=True)
class SyntheticSpec:
    """What to generate. ``class_weights`` sets how often each class appears."""

    n_images: int = 200
    classes: tuple[str, ...] = ("circle", "square", "triangle", "cross")
    class_weights: tuple[float, ...] = (0.42, 0.3, 0.22, 0.06)
    min_side: int = 192
    max_side: int = 320
    objects_per_image: tuple[int, int] = (1, 4)
    duplicate_fraction: float = 0.15
    burst_fraction: float = 0.0
    burst_frames: tuple[int, int] = (4, 24)  # frames per burst, the scene's first included
    empty_fraction: float = 0.05
    object_scale: tuple[float, float] = (0.12, 0.35)
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = [c for c in self.classes if c not in SHAPES]
        if unknown:
            raise ValueError(f"unknown synthetic classes {unknown}; choose from {list(SHAPES)}")
        if len(self.class_weights) != len(self.classes):
            raise ValueError(
                f"class_weights has {len(self.class_weights)} entries for "
                f"{len(self.classes)} classes; give one weight per class"
            )
        if self.n_images < 1:
            raise ValueError(f"n_images must be at least 1, got {self.n_images}")
        if not 0.0 <= self.burst_fraction <= 1.0:
            raise ValueError(f"burst_fraction must be within [0, 1], got {self.burst_fraction}")
        if not 0.0 <= self.duplicate_fraction < 1.0:
            raise ValueError(
                f"duplicate_fraction (--retake-fraction) must be within [0, 1), "
                f"got {self.duplicate_fraction}"
            )
        if not 2 <= self.burst_frames[0] <= self.burst_frames[1]:
            raise ValueError(f"need 2 <= burst_frames[0] <= [1], got {self.burst_frames}")
        if not 0 < self.min_side <= self.max_side:
            raise ValueError(f"need 0 < min_side <= max_side, got {self.min_side}, {self.max_side}")


@dataclass
class SyntheticDataset:
    """A generated dataset on disk."""

    root: Path
    class_names: list[str]
    duplicates: dict[str, str] = field(default_factory=dict)  # stem -> stem it copies

    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    @property
    def labels_dir(self) -> Path:
        return self.root / "labels"

    def image_paths(self) -> list[Path]:
        return sorted(self.images_dir.glob("*.jpg"))

    def label_path(self, image_path: Path) -> Path:
        return self.labels_dir / (Path(image_path).stem + ".txt")

    @classmethod
    def load(cls, root: str | Path) -> SyntheticDataset:
        root = Path(root)
        manifest = json.loads((root / "manifest.json").read_text())
        return cls(
            root=root,
            class_names=list(manifest["spec"]["classes"]),
            duplicates=dict(manifest.get("duplicates", {})),
        )


def _background(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    """A smooth colour gradient with noise: not flat, so the detector must look at shapes."""
    c0, c1 = rng.integers(20, 200, 3), rng.integers(20, 200, 3)
    t = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None]
    if rng.random() < 0.5:
        t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    img = c0 * (1 - t) + c1 * t
    img = np.broadcast_to(img, (h, w, 3)) + rng.normal(0, 12, (h, w, 3))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def _draw(
    draw: ImageDraw.ImageDraw,
    shape: str,
    box: tuple[float, float, float, float],
    colour: tuple[int, int, int],
) -> None:
    x1, y1, x2, y2 = box
    cx, cy, w = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "square":
        draw.rectangle(box, fill=colour)
    elif shape == "triangle":
        draw.polygon([(cx, y1), (x2, y2), (x1, y2)], fill=colour)
    elif shape == "diamond":
        draw.polygon([(cx, y1), (x2, cy), (cx, y2), (x1, cy)], fill=colour)
    elif shape == "cross":
        t = max(2.0, w / 3.5)
        draw.rectangle((cx - t / 2, y1, cx + t / 2, y2), fill=colour)
        draw.rectangle((x1, cy - t / 2, x2, cy + t / 2), fill=colour)
    elif shape == "ring":
        draw.ellipse(box, outline=colour, width=max(2, int(w / 6)))


Box = tuple[int, float, float, float, float]  # class, x1, y1, x2, y2 in pixels


def _random_frame(
    rng: np.random.Generator, spec: SyntheticSpec, probs: np.ndarray
) -> tuple[Image.Image, list[Box]]:
    w, h = (int(v) for v in rng.integers(spec.min_side, spec.max_side + 1, 2))
    img = _background(rng, w, h)
    draw = ImageDraw.Draw(img)
    boxes: list[tuple[int, float, float, float, float]] = []
    n = (
        0
        if rng.random() < spec.empty_fraction
        else int(rng.integers(*spec.objects_per_image, endpoint=True))
    )
    for _ in range(n * 4):  # tries, so objects rarely overlap much
        if len(boxes) == n:
            break
        cls = int(rng.choice(len(spec.classes), p=probs))
        side = rng.uniform(*spec.object_scale) * min(w, h)
        aspect = rng.uniform(0.8, 1.25)
        bw, bh = side * aspect, side / aspect
        x1, y1 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
        box = (x1, y1, x1 + bw, y1 + bh)
        if any(_iou(box, b[1:]) > 0.1 for b in boxes):
            continue
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        _draw(draw, spec.classes[cls], box, colour)  # type: ignore[arg-type]
        boxes.append((cls, *box))
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.5, 1.5))))
    return img, boxes


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _near_duplicate(
    rng: np.random.Generator, img: Image.Image, boxes: list[tuple[int, float, float, float, float]]
):
    """The same frame shifted by a few pixels with fresh sensor noise, as from video."""
    w, h = img.size
    dx, dy = (int(v) for v in rng.integers(-3, 4, 2))
    arr = np.asarray(img, dtype=np.float32)
    arr = np.roll(arr, (dy, dx), axis=(0, 1)) + rng.normal(0, 4, arr.shape)
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    moved = []
    for cls, x1, y1, x2, y2 in boxes:
        nx1, ny1 = min(max(x1 + dx, 0), w), min(max(y1 + dy, 0), h)
        nx2, ny2 = min(max(x2 + dx, 0), w), min(max(y2 + dy, 0), h)
        if nx2 - nx1 > 2 and ny2 - ny1 > 2:
            moved.append((cls, nx1, ny1, nx2, ny2))
    return out, moved


def make_synthetic_dataset(
    out_dir: str | Path, spec: SyntheticSpec | None = None, progress: bool = True
) -> SyntheticDataset:
    """Write a synthetic dataset to ``out_dir`` (created) and return its handle.

    The same spec (seed included) always gives the same images and labels.
    """
    spec = spec or SyntheticSpec()
    root = Path(out_dir)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    probs = np.asarray(spec.class_weights, dtype=np.float64)
    probs = probs / probs.sum()
    duplicates: dict[str, str] = {}
    previous: tuple[str, Image.Image, list] | None = None
    burst_left = 0  # frames still to film of the current burst
    for i in tqdm(range(spec.n_images), desc="synthetic images", disable=not progress):
        stem = f"{i:06d}"
        if previous is not None and (burst_left > 0 or rng.random() < spec.duplicate_fraction):
            img, boxes = _near_duplicate(rng, previous[1], previous[2])
            duplicates[stem] = previous[0]
            burst_left = max(0, burst_left - 1)
        else:
            img, boxes = _random_frame(rng, spec, probs)
            previous = (stem, img, boxes)
            if spec.burst_fraction > 0 and rng.random() < spec.burst_fraction:
                burst_left = int(rng.integers(*spec.burst_frames, endpoint=True)) - 1
        img.save(root / "images" / f"{stem}.jpg", quality=92)
        w, h = img.size
        lines = [
            f"{c} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} "
            f"{(y2 - y1) / h:.6f}"
            for c, x1, y1, x2, y2 in boxes
        ]
        (root / "labels" / f"{stem}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
    (root / "classes.txt").write_text("\n".join(spec.classes) + "\n")
    manifest = {"spec": asdict(spec), "duplicates": duplicates}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    logger.info(
        "wrote %d synthetic images (%d near-duplicates) to %s", spec.n_images, len(duplicates), root
    )
    return SyntheticDataset(root=root, class_names=list(spec.classes), duplicates=duplicates)
