-- marts.instance_compliance_known_at(known_at)
-- Grain: one row per version of history.instance_compliance as the warehouse would hold it had it
-- only ever landed the items with ingested_at <= known_at (same columns). Exact definition: the
-- SCD2 history recomputed from those items. How: an instance none of whose items was ingested
-- after known_at keeps its stored versions; for the others, the versions that ended before the
-- first unknown item's capture time stand, and the rest is recomputed from the known items
-- (history.recomputed_instance_compliance). With known_at = 'infinity' it is the stored history.
-- Reads: history.instance_compliance, history.changed_instances,
-- history.recomputed_instance_compliance. Parameters: known_at (timestamptz).
create or replace macro marts.instance_compliance_known_at(known_at) as table
with
changed as (select * from history.changed_instances(known_at, null)),
instance_compliance as (select * from history.instance_compliance),
standing as (
    select h.*
    from instance_compliance as h
    left join changed as c using (account_id, aws_region, instance_id)
    where c.from_at is null or h.valid_to < c.from_at
),
recomputed as (
    select * from history.recomputed_instance_compliance(known_at, null)
),
versions as (
    select * from standing
    union all
    select * from recomputed
)
select * from versions
