-- Parts sold: quantities and revenue per part.
create or replace view autocorp_analytics.v_parts_demand as
select
    ap.part_id,
    ap.sku,
    ap.name as part_name,
    ap.category as part_category,
    count(l.line_item_id) as order_lines,
    coalesce(sum(l.quantity), 0) as units_sold,
    coalesce(sum(l.line_total), 0) as revenue
from autocorp_curated.auto_parts as ap
left join autocorp_curated.sales_order_parts as l
    on l.sku = ap.sku
group by ap.part_id, ap.sku, ap.name, ap.category
