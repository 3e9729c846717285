-- marts.current_instance_compliance
-- Grain: one row per live managed instance (account_id, aws_region, instance_id): its latest
-- compliance version. Deleted instances are excluded. An instance whose latest item is
-- ResourceNotRecorded is kept, with is_recorded = false and every compliance attribute null: its
-- compliance is unknown (recording stopped), it is not deleted.
-- Reads: history.instance_compliance.
create or replace view marts.current_instance_compliance as
with
instance_compliance as (select * from history.instance_compliance),
current_versions as (
    select *
    from instance_compliance
    where is_current and not is_deleted
)
select * from current_versions
