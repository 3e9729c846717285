-- Remove the history of the instances in temp table affected_instances before it is recomputed.
delete from history.instance_compliance as h
using affected_instances as a
where h.account_id = a.account_id and h.aws_region = a.aws_region and h.instance_id = a.instance_id;
delete from history.patch_state as h
using affected_instances as a
where h.account_id = a.account_id and h.aws_region = a.aws_region and h.instance_id = a.instance_id;
