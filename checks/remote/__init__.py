"""Remote SaaS APIs the gate reads or posts to, and loopback fakes of them.

- :mod:`checks.remote.server`: a small loopback HTTP server for recorded fakes;
- :mod:`checks.remote.fakes`: GitHub REST and Slack incoming-webhook fakes, in their real
  formats, serving the recorded answers in ``sandbox/recorded/github/``;
- :mod:`checks.remote.github` / :mod:`checks.remote.slack`: the httpx clients the checks use
  (timeouts, tokens from the environment and never shown, pagination followed);
- :mod:`checks.remote.settings`: the target's ``[targets.<t>.checks.*]`` settings, validated.
"""
