"""Progress for log files: logger lines (not one bar line per item) when not on a terminal."""

import logging

from mmengine.logging import MMLogger

from mmseg_l2g.utils.progress import Progress, map_with_progress


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def square(x: int) -> int:
    return x * x


def test_not_on_a_terminal_logs_every_tenth_and_maps_in_order(capsys):
    recorder = Recorder()
    logger = MMLogger.get_current_instance()
    logger.addHandler(recorder)
    try:
        progress = Progress(40, "stage 2")  # pytest's stdout is not a terminal
        for _ in range(40):
            progress.update()
        progress.finish()
        assert map_with_progress(square, [1, 2, 3], workers=2, chunksize=1) == [1, 4, 9]
        assert map_with_progress(square, [4], workers=1) == [16]
    finally:
        logger.removeHandler(recorder)
    lines = [m for m in recorder.messages if m.startswith("stage 2")]
    assert lines == [f"stage 2: {4 * k}/40" for k in range(1, 11)]
    assert "processed 3 items" in recorder.messages
    assert "[>" not in capsys.readouterr().out  # no progress bar drawn
