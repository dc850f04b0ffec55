select
    sv.category as service_category,
    count(*) as service_lines,
    sum(l.labor_cost) as labor_cost,
    sum(coalesce(l.parts_cost, 0)) as parts_cost,
    sum(l.line_total) as revenue
from autocorp_curated.sales_order_services as l
join autocorp_curated.service as sv
    on sv.serviceid = l.serviceid
group by sv.category
order by revenue desc, service_category
