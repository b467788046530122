"""Lighthouse for the release gate: the runner, Lighthouse CI assertions, PWA installability."""
