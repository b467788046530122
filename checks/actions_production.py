"""The production promotion's actions (runbook "Production Deployment", steps 1 to 4).

Each runs after ``platform_up`` and, being in a later unit than
``deploy_production/prerequisites``, only once every prerequisite test (staging sign-off,
canary stable over its window, approvals) has passed: a failed prerequisite closes the gate
at the end of its unit, and the engine refuses an action whose unit would be skipped. The
rollback actions (``checks/actions_rollback.py``) compensate ``prod_db_push``,
``prod_agents_deploy`` and ``prod_web_promote``. Configured per target in ``release.toml``:

- ``prod_db_push``: sandbox ``python -m sandbox deploy migrations``; icupa ``supabase link``
  (the production project), ``supabase db push`` and ``supabase db remote commit --file
  supabase/seed/backfill_tenant_profiles.sql``.
- ``prod_functions_deploy``: ``--verify-jwt`` on both targets (``deploy-functions.sh``).
- ``prod_agents_deploy``: the image built for staging, pushed and applied
  (``docker push``, ``kubectl apply -f deployments/prod/agents-service.yaml``).
- ``prod_web_promote``: ``vercel promote`` of the release's deployment.

Import this module from ``checks/conftest.py`` so the fixtures are visible to every suite.
"""

from __future__ import annotations

from plugin import release_action

__all__ = ["prod_agents_deploy", "prod_db_push", "prod_functions_deploy", "prod_web_promote"]

prod_db_push = release_action(
    "prod_db_push",
    phase="deploy_production",
    step="migrations",
    after=("platform_up",),
    description="1: supabase link (production), db push, the tenant profile backfill.",
)
prod_functions_deploy = release_action(
    "prod_functions_deploy",
    phase="deploy_production",
    step="functions",
    after=("platform_up",),
    description="2: deploy the edge functions on the release version with --verify-jwt.",
)
prod_agents_deploy = release_action(
    "prod_agents_deploy",
    phase="deploy_production",
    step="agents",
    after=("platform_up",),
    description="3: push the release's agents image and apply the production deployment.",
)
prod_web_promote = release_action(
    "prod_web_promote",
    phase="deploy_production",
    step="web",
    after=("platform_up",),
    description="4: promote the release's web deployment to production.",
)
