"""The staging canary: SLO analysis against Prometheus, synthetic traffic, approvals.

- ``analysis``: the canary settings (``[targets.<t>.checks.canary]``), the PromQL metrics,
  the sampler with its four outcomes and the report written under
  ``artifacts/observability/``;
- ``traffic``: a bounded generator of realistic requests for the sandbox's canary tenants;
- ``approvals``: the Product and Engineering leads' approvals before production.
"""
