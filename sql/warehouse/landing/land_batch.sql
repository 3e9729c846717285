-- Land one flattened batch, inside the run's transaction.
-- Inputs (registered by patchtrail/warehouse/land.py): batch_items (with batch_row, its row
-- number), batch_instances, batch_patches (the frames of transforms.flatten); temp tables
-- object_landed, run_conflicts, affected_instances (see land.start_run).
-- Parameters: $ingested_at (timestamptz), $load_id (bigint), $copies (boolean: the batch holds
-- two copies of one identity, so staging rows must be picked one per item).
-- A copy of an item already landed with the same content (or landed before content_sha256
-- existed) is a duplicate: nothing lands. A new variant of a known item (a conflict) lands in
-- landing only; which variant staging uses is settled when the run ends (land.resolve_conflicts).
-- Only keys are copied into temp tables, never the configuration JSON.

-- one row per variant (ci_id, content) of the batch: its Lake copy first, then by where it came from
create or replace temp table batch_variants as
select batch_row, ci_id, content_sha256, account_id, aws_region, instance_id, source_ref,
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
landed_before as (
    select distinct l.ci_id
    from landing.configuration_items as l
    semi join batch_new as n using (ci_id)
),
new_variants as (
    select ci_id, count(*) as variants,
    from batch_new
    group by ci_id
)
select v.ci_id, v.variants, b.ci_id is not null as was_landed,
from new_variants as v
left join landed_before as b using (ci_id)
where b.ci_id is not null or v.variants > 1;

insert into landing.configuration_items by name
select i.* exclude (batch_row), $ingested_at::timestamptz as ingested_at, $load_id::bigint as load_id,
from batch_items as i
semi join batch_new using (batch_row);

insert into object_landed
select ci_id, content_sha256, ci_id not in (select ci_id from batch_conflicts) as is_staged,
from batch_new;

insert into run_conflicts
select ci_id from batch_conflicts
except
select ci_id from run_conflicts;

-- staging: the items seen for the first time (copies with one content are identical rows)
create or replace temp table batch_staged as
select ci_id from batch_new
except
select ci_id from batch_conflicts;

insert into staging.instance_snapshots by name
select s.*
from batch_instances as s
semi join batch_staged using (ci_id)
qualify not $copies or row_number() over (partition by ci_id) = 1;

insert into staging.patch_observations by name
select p.*
from batch_patches as p
semi join batch_staged using (ci_id)
qualify not $copies or row_number() over (partition by ci_id, patch_id) = 1;

insert into affected_instances
select distinct account_id, aws_region, instance_id
from batch_new
semi join batch_staged using (ci_id)
except
select account_id, aws_region, instance_id from affected_instances;
