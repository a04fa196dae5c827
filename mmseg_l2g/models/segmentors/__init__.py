"""Segmentors for stage 3: mmseg's EncoderDecoder with optional dense-CRF refinement."""

from .crf_encoder_decoder import CRFEncoderDecoder

__all__ = ["CRFEncoderDecoder"]
