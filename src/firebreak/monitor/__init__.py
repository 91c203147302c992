"""Monitors: per-deployment windows of mergeable profiles (Apache DataSketches)."""
