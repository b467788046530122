"""The rollback phase's actions (runbook: Rollback Procedures), used by checks/test_rollback.py.

Each compensates the deploying actions it undoes (staging's and production's), so in a
triggered rollback an action none of whose deploys ran in this release run is recorded as
``not_needed``; in a ``pytest -m rollback`` run (requested) every one of them runs.
Configured per target in ``release.toml``:

- ``canary_flags_off`` (rollback/flags): the canary flag off for the canary tenants. Sandbox:
  ``python -m sandbox.flags disable``; icupa: ``pnpm flags:disable`` with
  ``DATABASE_URL=${ICUPA_DB_DSN}``.
- ``rollout_flags_off`` (rollback/flags): the rollout flag off for every rollout tenant (all
  four stages', ``{rollout_all_tenants}``), the same CLI as ``canary_flags_off``.
- ``agents_redeploy_previous`` (rollback/redeploy): the previous agents image by digest.
  Sandbox: ``python -m sandbox.rollback_previous agents`` (the previous digest from the
  environment's state; fails naming the digest when its artifact is gone); icupa:
  ``kubectl rollout undo deployment/agents-service`` then ``kubectl rollout status``: the
  Deployment's previous ReplicaSet is the last successful image digest, so no digest has to
  be carried between runs.
- ``functions_redeploy_previous`` (rollback/redeploy): the edge functions' previous version.
  Sandbox: ``python -m sandbox.rollback_previous functions`` (the previous version from the
  environment's state, redeployed with the environment's JWT setting); icupa: the previous
  release's checkout (``${ICUPA_PREVIOUS_REPO_DIR}``) deployed with ``deploy-functions.sh``:
  Supabase keeps no function versions to switch back to.
- ``web_redeploy_previous`` (rollback/redeploy): sandbox: ``python -m sandbox.rollback_previous
  web`` (``web/current`` back to ``web/releases/<web_previous>``); icupa: ``vercel rollback``.
- ``schema_rollback`` (rollback/schema): the paired ``_rollback.sql`` of the release's
  migrations, newest first, when the release changed the schema. Sandbox: ``python -m
  sandbox.schema_rollback`` (psycopg, in-process, the DSN never printed); icupa: ``psql -f``
  per rollback file (``commands``), the file named by ``${ICUPA_RELEASE_ROLLBACK}``.

Import this module from ``checks/conftest.py`` so the fixtures are visible to every suite.
"""

from __future__ import annotations

from plugin import release_action

__all__ = [
    "agents_redeploy_previous",
    "canary_flags_off",
    "functions_redeploy_previous",
    "rollout_flags_off",
    "schema_rollback",
    "web_redeploy_previous",
]

canary_flags_off = release_action(
    "canary_flags_off",
    phase="rollback",
    step="flags",
    compensates="canary_flags_on",
    after=("platform_up",),
    description="Disables the release's feature flag for the canary tenants (flags CLI, recorded as release-gate).",
)
rollout_flags_off = release_action(
    "rollout_flags_off",
    phase="rollback",
    step="flags",
    compensates=("rollout_internal", "rollout_pilot", "rollout_low_volume_ga", "rollout_full_ga"),
    after=("platform_up",),
    description="Disables the rollout flag for every rollout tenant (flags CLI, recorded as release-gate).",
)
agents_redeploy_previous = release_action(
    "agents_redeploy_previous",
    phase="rollback",
    step="redeploy",
    compensates=("agents_deploy", "prod_agents_deploy"),
    after=("platform_up",),
    description="Redeploys the agents service's previous image (the last successful digest).",
)
functions_redeploy_previous = release_action(
    "functions_redeploy_previous",
    phase="rollback",
    step="redeploy",
    compensates=("functions_deploy", "prod_functions_deploy"),
    after=("platform_up",),
    description="Redeploys the edge functions' previous version.",
)
web_redeploy_previous = release_action(
    "web_redeploy_previous",
    phase="rollback",
    step="redeploy",
    compensates=("web_deploy", "prod_web_promote"),
    after=("platform_up",),
    description="Switches the web app back to its previous release.",
)
schema_rollback = release_action(
    "schema_rollback",
    phase="rollback",
    step="schema",
    compensates=("db_push", "prod_db_push"),
    after=("platform_up",),
    description="Applies the paired _rollback.sql of the release's migrations, newest first.",
)
