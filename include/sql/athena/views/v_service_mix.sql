-- Service lines with their catalogue category, labor and parts cost.
create or replace view autocorp_analytics.v_service_mix as
select
    l.line_item_id,
    l.order_id,
    l.serviceid,
    sv.service as service_name,
    sv.category as service_category,
    l.quantity,
    l.labor_minutes,
    l.labor_cost,
    coalesce(l.parts_cost, 0) as parts_cost,
    l.line_total,
    l.service_status
from autocorp_curated.sales_order_services as l
join autocorp_curated.service as sv
    on sv.serviceid = l.serviceid
