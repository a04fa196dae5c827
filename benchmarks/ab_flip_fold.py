"""Before/after of stage 2's flip folding: upsample both flips then fold (before) vs
fold the flipped-back map at low resolution and upsample once (after).

Both give the same maps (bicubic upsampling commutes with a mirror flip); the
table shows the time of each on the same tensors, measured alternately.

    python3 benchmarks/ab_flip_fold.py
"""

import statistics
import time

import torch
import torch.nn.functional as F


def upsample_then_fold(maps: torch.Tensor, batch: int, size: tuple) -> torch.Tensor:
    """Before: every map (image and flipped image) upsampled, then flipped back and summed."""
    up = F.interpolate(maps, size=size, mode="bicubic", align_corners=False)
    return up[:batch] + up[batch:].flip(-1)


def fold_then_upsample(maps: torch.Tensor, batch: int, size: tuple) -> torch.Tensor:
    """After (mmseg_l2g.models.classifiers.cam_readout): flipped back, summed, one upsample."""
    folded = maps[:batch] + maps[batch:].flip(-1)
    return F.interpolate(folded, size=size, mode="bicubic", align_corners=False)


def main(repeats: int = 15) -> None:
    """Prints before / after times and the largest difference for two map sizes."""
    print("| maps -> image | batch | before (ms) | after (ms) | max abs difference |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for batch, classes, low, high in [(4, 2, 16, 128), (4, 2, 63, 500)]:
        maps = torch.randn(2 * batch, classes, low, low)
        before, after = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            a = upsample_then_fold(maps, batch, (high, high))
            before.append(time.perf_counter() - start)
            start = time.perf_counter()
            b = fold_then_upsample(maps, batch, (high, high))
            after.append(time.perf_counter() - start)
        print(
            f"| {low}x{low} -> {high}x{high} | {batch} | {1e3 * statistics.median(before):.2f} "
            f"| {1e3 * statistics.median(after):.2f} | {(a - b).abs().max().item():.1e} |"
        )


if __name__ == "__main__":
    main()
