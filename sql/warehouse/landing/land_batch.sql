-- Land one flattened batch, inside the run's transaction.
-- Inputs (registered by patchtrail/warehouse/land.py): batch_items, batch_instances,
-- batch_patches (the frames of transforms.flatten); temp tables object_landed, run_conflicts,
-- affected_instances (see land.start_run). Parameters: $ingested_at (timestamptz), $load_id.
-- A copy of an item already landed with the same content (or landed before content_sha256
-- existed) is a duplicate: nothing lands. A new variant of a known item (a conflict) lands in
-- landing only; which variant staging uses is settled when the run ends (land.resolve_conflicts).

-- one row per variant (ci_id, content) of the batch: its Lake copy first, then by where it came from
create or replace temp table batch_variants as
select *
from batch_items
qualify row_number() over (
    partition by ci_id, coalesce(content_sha256, '')
    order by event_id is null, source_ref, record_ref
) = 1;

-- the variants the warehouse does not hold yet
create or replace temp table batch_new as
select *
from batch_variants as b
where not exists (
    select 1
    from landing.configuration_items as l
    where l.ci_id = b.ci_id
        and (l.content_sha256 is null or l.content_sha256 is not distinct from b.content_sha256)
);

-- their identities that are conflicts: landed before with another content, or twice in the batch
create or replace temp table batch_conflicts as
with
new_variants as (
    select
        ci_id,
        count(*) as variants,
        bool_or(exists (select 1 from landing.configuration_items as l where l.ci_id = n.ci_id))
            as was_landed,
    from batch_new as n
    group by ci_id
)
select *
from new_variants
where was_landed or variants > 1;

insert into landing.configuration_items by name
select *, $ingested_at::timestamptz as ingested_at, $load_id::bigint as load_id,
from batch_new;

insert into object_landed
select ci_id, content_sha256, ci_id not in (select ci_id from batch_conflicts) as is_staged,
from batch_new;

insert into run_conflicts
select ci_id from batch_conflicts
except
select ci_id from run_conflicts;

-- staging: the items seen for the first time (copies with one content are identical rows)
insert into staging.instance_snapshots by name
select *
from batch_instances
where ci_id in (select ci_id from batch_new)
    and ci_id not in (select ci_id from batch_conflicts)
qualify row_number() over (partition by ci_id) = 1;

insert into staging.patch_observations by name
select *
from batch_patches
where ci_id in (select ci_id from batch_new)
    and ci_id not in (select ci_id from batch_conflicts)
qualify row_number() over (partition by ci_id, patch_id) = 1;

insert into affected_instances
select distinct account_id, aws_region, instance_id
from batch_new
where ci_id not in (select ci_id from batch_conflicts)
except
select account_id, aws_region, instance_id from affected_instances;
