"""The fixed appearance of each synthetic class: name, mark colour and shape, body texture.

The table does not depend on the seed: every dataset with C classes has the same
classes, so a model trained on one seed can be scored on another.
"""

from dataclasses import dataclass

# Saturated colours, far from the muted colours of bodies and background (saturation <= 0.4).
MARK_COLOURS: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("red", (255, 0, 0)),
    ("green", (0, 210, 0)),
    ("blue", (0, 70, 255)),
    ("yellow", (255, 225, 0)),
    ("magenta", (255, 0, 255)),
    ("cyan", (0, 230, 230)),
    ("orange", (255, 128, 0)),
    ("purple", (140, 0, 255)),
    ("lime", (160, 255, 0)),
    ("pink", (255, 0, 128)),
    ("azure", (0, 150, 255)),
    ("spring", (0, 255, 140)),
)
MAX_CLASSES = len(MARK_COLOURS)
MARK_SHAPES: tuple[str, ...] = ("disc", "square", "diamond", "plus")
BACKGROUND_COLOUR = (0, 0, 0)
IGNORE_COLOUR = (224, 224, 192)  # colour of the 255 border band, as in VOC's palette

_STRIPE_ANGLES = (0.0, 90.0, 45.0, 135.0)
_ANGLE_SHIFTS = (0.0, 22.5, 11.25)
_STRIPE_PERIODS = (0.045, 0.07)  # stripe period as a fraction of the image side
_PERIOD_SCALES = (1.0, 1.15, 0.85)


@dataclass(frozen=True)
class ClassAppearance:
    """How objects of one foreground class look.

    Attributes:
        name: class name (the colour of its mark).
        mark_colour: RGB colour of the mark, also the class's palette colour.
        mark_shape: one of ``MARK_SHAPES``.
        stripe_angle: orientation of the body stripes, degrees.
        stripe_period: stripe period as a fraction of the image side.
    """

    name: str
    mark_colour: tuple[int, int, int]
    mark_shape: str
    stripe_angle: float
    stripe_period: float


def class_appearances(num_classes: int, offset: int = 0) -> list[ClassAppearance]:
    """Returns the appearance of foreground classes ``0..num_classes-1``.

    Args:
        num_classes: number of foreground classes, 1..``MAX_CLASSES``.
        offset: first row of the appearance table (``SyntheticDesign.class_offset``):
            0 gives the target classes; with 4 classes, 4 gives 4 others (their own
            mark colours, stripe angles and periods), e.g. for a pretraining corpus.
    """
    if not 1 <= num_classes <= MAX_CLASSES:
        raise ValueError(f"num_classes must be in 1..{MAX_CLASSES}, got {num_classes}")
    if not 0 <= offset <= MAX_CLASSES - num_classes:
        raise ValueError(
            f"class_offset must be in 0..{MAX_CLASSES - num_classes} for {num_classes} "
            f"classes (the table has {MAX_CLASSES}), got {offset}"
        )
    appearances = []
    for k in range(offset, offset + num_classes):
        name, colour = MARK_COLOURS[k]
        appearances.append(
            ClassAppearance(
                name=name,
                mark_colour=colour,
                mark_shape=MARK_SHAPES[k % len(MARK_SHAPES)],
                stripe_angle=_STRIPE_ANGLES[k % 4] + _ANGLE_SHIFTS[k // 4],
                stripe_period=_STRIPE_PERIODS[k % 2] * _PERIOD_SCALES[k // 4],
            )
        )
    return appearances


def class_names(num_classes: int, offset: int = 0) -> list[str]:
    """Returns ``['background', <foreground names>]`` (background first, as mmseg's VOC)."""
    return ["background"] + [a.name for a in class_appearances(num_classes, offset)]


def class_palette(num_classes: int, offset: int = 0) -> list[list[int]]:
    """Returns the C+1 RGB palette colours: background black, then each mark colour."""
    looks = class_appearances(num_classes, offset)
    return [list(BACKGROUND_COLOUR)] + [list(a.mark_colour) for a in looks]
