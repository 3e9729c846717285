-- spark configuration_items
-- Grain: one row per configuration item of type AWS::SSM::PatchCompliance (key ci_id), as
-- landing.configuration_items holds it: one row per ci_id (unique_items), less the items that
-- flattening rejects whole (item_rejections).
-- Reads: temp views unique_items, item_rejections.
with
items as (select * from unique_items),
rejected as (select ci_id from item_rejections),
kept as (
    select items.*
    from items
    left anti join rejected using (ci_id)
)
select * from kept
