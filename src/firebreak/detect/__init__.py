"""Detectors: turn monitor windows into signals (drift, performance, operations)."""
