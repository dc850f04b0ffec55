select
    l.sku,
    max(l.part_description) as part_description,
    sum(l.quantity) as units_sold,
    sum(l.line_total) as revenue
from autocorp_curated.sales_order_parts as l
group by l.sku
order by revenue desc, l.sku
limit 20
