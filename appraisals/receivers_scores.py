"""Receivers that keep scores fresh when ratings or weights change (scores workstream)."""
