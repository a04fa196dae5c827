"""The tunable parameters of the synthetic images (what makes a CAM partial on them)."""

import dataclasses
from dataclasses import dataclass
from typing import Any

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
            fraction of the body's equivalent radius (sqrt(area / pi)).
        mark_strength: 1 paints the mark in its pure class colour; lower values blend
            it with the body colour.
        body_texture_reliability: probability that a body wears its own class's stripes.
        texture_contrast: depth of the body stripes (0 flat, 1 black stripes).
        body_size_range: range of the body diameter.
        class_count_weights: probabilities of 1, 2, 3, ... classes in an image.
        max_objects: most objects in an image (at least one per class present).
        min_visible_fraction: least visible share of an object after later objects
            occlude it (marks are never occluded).
        distractor_count_range: inclusive range of the number of clutter blobs.
        distractor_size_range: range of the clutter blobs' diameter.
        distractor_stripe_prob: probability that a clutter blob is striped (at a random
            angle and period, so stripes alone do not make an object).
        background_stripe_prob: probability of faint stripes over the background.
        noise_std: standard deviation of the pixel noise, in grey levels.
        saliency_blur: Gaussian sigma of the saliency map.
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

    def __post_init__(self) -> None:
        for name in _UNIT_FIELDS:
            _check_range(name, getattr(self, name), 0.0, 1.0)
        _check_range("mark_size_ratio", self.mark_size_ratio, 0.01, 0.3)
        _check_range("mark_offset", self.mark_offset, 0.0, 0.9)
        for name in ("body_size_range", "distractor_size_range"):
            low, high = getattr(self, name)
            if not 0.0 < low <= high <= 1.0:
                raise ValueError(f"SyntheticDesign.{name} must satisfy 0 < low <= high <= 1")
        low, high = self.distractor_count_range
        if not 0 <= low <= high:
            raise ValueError("SyntheticDesign.distractor_count_range must satisfy 0 <= low <= high")
        weights = self.class_count_weights
        if not weights or min(weights) < 0 or sum(weights) <= 0:
            raise ValueError("SyntheticDesign.class_count_weights must be non-negative, sum > 0")
        if self.max_objects < 1 or self.noise_std < 0 or self.saliency_blur < 0:
            raise ValueError("SyntheticDesign: max_objects >= 1, noise_std, saliency_blur >= 0")
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


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"SyntheticDesign.{name} must be in [{low}, {high}], got {value}")


def _check_saliency_errors(design: SyntheticDesign) -> None:
    """Bounds of the saliency error model's non-probability fields."""
    low, high = design.saliency_contrast_range
    if not 0.0 <= low <= high <= 442.0:
        raise ValueError(
            "SyntheticDesign.saliency_contrast_range must satisfy 0 <= low <= high <= 442 "
            f"(grey levels of RGB distance), got {design.saliency_contrast_range}"
        )
    _check_range("saliency_contrast_sigma", design.saliency_contrast_sigma, 0.0, 0.5)
    _check_range("saliency_bleed", design.saliency_bleed, 0.0, 0.5)
