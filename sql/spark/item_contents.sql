-- spark item_contents
-- Grain: one row per unique item (unique_items): its AWS:ComplianceItem
-- decoded (an object, or a JSON string holding one, as transforms/items.py `compliance_item`),
-- and the raw text of Content.Patch (null: no patch map).
-- reject_reason is set when the configuration, the compliance item or Content.Patch is not a
-- JSON object (transforms/flatten.py `_patch_map`).
-- Reads: temp view unique_items.
with
items as (select * from unique_items),
configuration as (
    select
        *,
        from_json(configuration_json, '`AWS:ComplianceItem` string') as config
    from items
),
compliance_item as (
    select
        *,
        case when config.`AWS:ComplianceItem` = 'null' then null else config.`AWS:ComplianceItem` end
            as compliance_item_json
    from configuration
),
content as (
    select
        *,
        from_json(compliance_item_json, 'Content string') as compliance
    from compliance_item
),
patch_map as (
    select
        *,
        from_json(compliance.Content, 'Patch string').Patch as patch_json
    from content
),
checked as (
    select
        *,
        case
            when configuration_json is not null and config is null
                then 'configuration is not a JSON object'
            when compliance_item_json is not null and compliance is null
                then 'AWS:ComplianceItem is not a JSON object'
            when patch_json is not null and from_json(patch_json, 'map<string, string>') is null
                then 'Content.Patch is not an object'
        end as content_reject_reason
    from patch_map
)
select
    ci_id, account_id, aws_region, instance_id, captured_at, state_id, item_status, is_deleted,
    patch_json, patch_json is not null as has_patch_map, content_reject_reason
from checked
