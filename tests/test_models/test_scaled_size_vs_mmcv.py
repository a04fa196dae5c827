"""The readout's ``scaled_size`` against ``mmcv.rescale_size``, measured.

Both round half up; mmcv's gives 0 where the scaled side falls under half a
pixel (3 px at 0.1x), which an interpolation cannot take, and ours gives 1.
"""

import mmcv

from mmseg_l2g.models.classifiers.cam_readout import scaled_size

SCALES = (0.1, 0.25, 0.3, 1 / 3, 0.5, 0.75, 1.0, 1.5, 2.0)


def test_same_sizes_except_where_mmcv_gives_zero() -> None:
    zero_cases = 0
    for height in range(1, 80):
        for width in (1, 2, 3, 7, 33, 375, 500):
            for scale in SCALES:
                theirs_w, theirs_h = mmcv.rescale_size((width, height), scale)
                ours = scaled_size(height, width, scale)
                assert ours == (max(1, theirs_h), max(1, theirs_w)), (height, width, scale)
                zero_cases += min(theirs_h, theirs_w) == 0
    assert zero_cases > 0
    assert mmcv.rescale_size((3, 3), 0.1) == (0, 0) and scaled_size(3, 3, 0.1) == (1, 1)
    assert scaled_size(375, 500, 0.5) == (188, 250)  # 187.5 rounds up, as in mmcv
