"""The tunable parameters of the synthetic images (what makes a CAM partial on them)."""

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .classes import MAX_CLASSES

# Upper bounds: a design may not ask for unbounded work (10^8 clutter blobs hang).
MAX_OBJECTS = 16
MAX_DISTRACTORS = 32
MAX_NOISE_STD = 255.0

_UNIT_FIELDS = (
    "mark_strength",
    "body_texture_reliability",
    "texture_contrast",
    "min_visible_fraction",
    "distractor_stripe_prob",
    "background_stripe_prob",
    "saliency_hole_prob",
    "saliency_false_positive_prob",
    "saliency_small_area",
    "saliency_small_miss_prob",
)


@dataclass(frozen=True)
class SyntheticDesign:
    """Parameters of the image design; sizes are fractions of the image side.

    Each object is a large textured body carrying a small saturated mark near its
    edge. The mark (class colour and shape) always tells the class; the body's
    faint stripes tell it too (they are the class's own with probability
    ``body_texture_reliability``, else another class's), but a whole-image
    classifier learns the saturated mark first and its CAM misses much of the
    body, while a local view that misses the mark has only the stripes to go on.

    Attributes:
        mark_size_ratio: side of the square mark.
        mark_offset: least distance of the mark centre from the body centre, as a
            fraction of the body's equivalent radius (sqrt(area / pi)); 0 sets no
            minimum (the mark anywhere inside the body), not "at the centre".
        mark_strength: 1 paints the mark in its pure class colour; lower values blend
            it with the body colour.
        body_texture_reliability: probability that a body wears its own class's stripes.
        texture_contrast: depth of the body stripes (0 flat, 1 black stripes).
        body_size_range: range of the body diameter.
        class_count_weights: probabilities of 1, 2, 3, ... classes in an image.
        max_objects: most objects in an image (at least one per class present; at most
            ``MAX_OBJECTS``).
        min_visible_fraction: least visible share of an object after later objects
            occlude it (marks are never occluded).
        distractor_count_range: inclusive range of the number of clutter blobs (at most
            ``MAX_DISTRACTORS``).
        distractor_size_range: range of the clutter blobs' diameter.
        distractor_stripe_prob: probability that a clutter blob is striped (at a random
            angle and period, so stripes alone do not make an object).
        background_stripe_prob: probability of faint stripes over the background.
        noise_std: standard deviation of the pixel noise, in grey levels (0..255).
        saliency_blur: Gaussian sigma of the saliency map (0..1).
        saliency_hole_prob: probability of each of two holes cut into the saliency map.
        saliency_false_positive_prob: probability that a clutter blob (a salient
            object of no class) is lit in the saliency map.
        saliency_contrast_range: object pixels whose local contrast (grey levels,
            see ``saliency.local_contrast``) is below the first value are missed,
            above the second kept; linear between.
        saliency_contrast_sigma: smoothing of the local contrast.
        saliency_bleed: largest radius by which the map spills past object edges.
        saliency_small_area: objects with a visible area below this fraction of
            the image are small.
        saliency_small_miss_prob: probability that a small object is missed.
        class_offset: first row of the class appearance table the classes wear
            (``classes.class_appearances``): 0 the target classes; with 4 classes,
            4 gives 4 other classes (own mark colours, stripe angles and periods),
            the pretraining corpus of the benchmark and the demo.
    """

    mark_size_ratio: float = 0.05
    mark_offset: float = 0.7
    mark_strength: float = 1.0
    body_texture_reliability: float = 1.0
    texture_contrast: float = 0.12
    body_size_range: tuple[float, float] = (0.5, 0.85)
    class_count_weights: tuple[float, ...] = (0.6, 0.4)
    max_objects: int = 2
    min_visible_fraction: float = 0.4
    distractor_count_range: tuple[int, int] = (1, 3)
    distractor_size_range: tuple[float, float] = (0.1, 0.25)
    distractor_stripe_prob: float = 0.7
    background_stripe_prob: float = 0.3
    noise_std: float = 6.0
    saliency_blur: float = 0.015
    saliency_hole_prob: float = 0.4
    saliency_false_positive_prob: float = 0.4
    saliency_contrast_range: tuple[float, float] = (15.0, 50.0)
    saliency_contrast_sigma: float = 0.03
    saliency_bleed: float = 0.04
    saliency_small_area: float = 0.08
    saliency_small_miss_prob: float = 0.5
    class_offset: int = 0

    def __post_init__(self) -> None:
        """Checks every value's type and range, so no design can ask for unbounded work.

        Raises:
            ValueError: a value of the wrong type, not finite or out of range
                (the parameter is named).
        """
        for name in _UNIT_FIELDS:
            _check_range(name, getattr(self, name), 0.0, 1.0)
        _check_range("mark_size_ratio", self.mark_size_ratio, 0.01, 0.3)
        _check_range("mark_offset", self.mark_offset, 0.0, 0.9)
        _check_range("noise_std", self.noise_std, 0.0, MAX_NOISE_STD)
        _check_range("saliency_blur", self.saliency_blur, 0.0, 1.0)
        _check_integer("max_objects", self.max_objects, 1, MAX_OBJECTS)
        _check_integer("class_offset", self.class_offset, 0, MAX_CLASSES - 1)
        for name in ("body_size_range", "distractor_size_range"):
            low, high = _check_pair(name, getattr(self, name))
            _check_range(name, low, 0.0, 1.0)
            _check_range(name, high, 0.0, 1.0)
            if not 0.0 < low <= high:
                raise ValueError(f"SyntheticDesign.{name} must satisfy 0 < low <= high <= 1")
        low, high = _check_pair("distractor_count_range", self.distractor_count_range)
        _check_integer("distractor_count_range", low, 0, MAX_DISTRACTORS)
        _check_integer("distractor_count_range", high, 0, MAX_DISTRACTORS)
        if low > high:
            raise ValueError("SyntheticDesign.distractor_count_range must satisfy low <= high")
        weights = self.class_count_weights
        if not isinstance(weights, tuple) or not 1 <= len(weights) <= MAX_CLASSES:
            raise ValueError(
                f"SyntheticDesign.class_count_weights must be a list of 1..{MAX_CLASSES} "
                f"numbers, got {weights!r}"
            )
        for weight in weights:
            _check_range("class_count_weights", weight, 0.0, math.inf)
        if sum(weights) <= 0:
            raise ValueError("SyntheticDesign.class_count_weights must be non-negative, sum > 0")
        _check_saliency_errors(self)

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> "SyntheticDesign":
        """Builds a design from keyword overrides; unknown names raise a clear error."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - fields)
        if unknown:
            raise TypeError(
                f"unknown synthetic design parameter(s) {unknown}; valid: {sorted(fields)}"
            )
        converted = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
        return cls(**converted)

    def to_dict(self) -> dict[str, Any]:
        """Returns the parameters as JSON-ready values (tuples as lists)."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_range(name: str, value: Any, low: float, high: float) -> None:
    """A finite number in ``[low, high]`` (``high`` may be ``inf``: any finite number)."""
    if not _is_number(value) or not math.isfinite(value) or not low <= value <= high:
        raise ValueError(
            f"SyntheticDesign.{name} must be a finite number in [{low}, {high}], got {value!r}"
        )


def _check_integer(name: str, value: Any, low: int, high: int) -> None:
    """An integer (not a bool or float) in ``low..high``."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(
            f"SyntheticDesign.{name} must be an integer in {low}..{high}, got {value!r}"
        )


def _check_pair(name: str, value: Any) -> tuple[Any, Any]:
    """A (low, high) pair."""
    if not isinstance(value, tuple) or len(value) != 2:
        raise ValueError(f"SyntheticDesign.{name} must be a [low, high] pair, got {value!r}")
    return value


def _check_saliency_errors(design: "SyntheticDesign") -> None:
    """Bounds of the saliency error model's non-probability fields."""
    low, high = _check_pair("saliency_contrast_range", design.saliency_contrast_range)
    _check_range("saliency_contrast_range", low, 0.0, 442.0)  # grey levels of RGB distance
    _check_range("saliency_contrast_range", high, 0.0, 442.0)
    if low > high:
        raise ValueError("SyntheticDesign.saliency_contrast_range must satisfy low <= high")
    _check_range("saliency_contrast_sigma", design.saliency_contrast_sigma, 0.0, 0.5)
    _check_range("saliency_bleed", design.saliency_bleed, 0.0, 0.5)
