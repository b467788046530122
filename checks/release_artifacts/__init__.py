"""Parsers of the pre-release artifacts: changelog, release tag, SBOMs, SARIF.

Each module reads one kind of artifact and raises :class:`checks.artifacts.ArtifactError`
(the path and the problem) for anything that must not pass: an empty or truncated file, a
missing required field, an SBOM of another version, a SARIF without severities, a changelog
that lists the release only under Unreleased, a tag on the wrong commit.
"""
