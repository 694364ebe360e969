"""Internals of convengine.functional: argument checking and the op implementations."""
