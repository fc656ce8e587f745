"""Tiny locally built models and real vLLM servers: what the tests and the measurement scripts both build on.

A package of its own, so a script imports it without importing a test module.
"""
