-- pgTAP: the release under test (migration 20251115090000_release_tenant_region).
begin;
create extension if not exists pgtap;
select plan(5);

select has_column('public', 'tenants', 'region', 'tenants.region exists');
select col_type_is('public', 'tenants', 'region', 'text', 'tenants.region is text');
select col_is_null('public', 'tenants', 'region', 'tenants.region is nullable (expand phase)');
select col_hasnt_default('public', 'tenants', 'region', 'tenants.region has no default (no table rewrite)');
select has_index('public', 'tenants', 'tenants_region_idx', array['region'], 'tenants_region_idx indexes region');

select * from finish();
rollback;
