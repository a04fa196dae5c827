"""Fixtures shared by the dataset tests."""

import logging

import pytest
from mmengine.logging import MMLogger


class LogRecords(logging.Handler):
    """Collects the messages MMLogger emits during a test."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def logs():
    logger = MMLogger.get_current_instance()
    handler = LogRecords()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
