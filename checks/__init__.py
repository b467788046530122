"""The ICUPA runbook as gate tests: one module per phase, tied to ``runbook.toml``."""
