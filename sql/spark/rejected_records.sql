-- spark rejected_records
-- Grain: one row per input record that could not be used (landing.rejected_records without the
-- load): the reason names the field, the payload is the configuration JSON as read.
-- Records of other resource types are skipped, not rejected.
-- Reads: temp views normal_items, unique_items, item_rejections.
with
items as (select * from normal_items),
rejected_at_reading as (
    select source, source_ref, record_ref, reject_reason as reason, configuration_json as payload
    from items
    where reject_reason is not null
        and (resource_type is null or trim(resource_type) in ('', 'AWS::SSM::PatchCompliance'))
),
rejected_at_flattening as (
    select i.source, i.source_ref, i.record_ref, r.reason, i.configuration_json as payload
    from unique_items as i
    join item_rejections as r using (ci_id)
)
select * from rejected_at_reading
union all
select * from rejected_at_flattening
