select
    o.status,
    count(*) as orders,
    sum(o.total_amount) as revenue
from autocorp_curated.sales_order_rt as o
group by o.status
order by orders desc, o.status
