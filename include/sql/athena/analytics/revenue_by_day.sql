select
    cast(o.order_date as date) as order_day,
    count(*) as orders,
    sum(o.total_amount) as revenue
from autocorp_curated.sales_order_rt as o
group by cast(o.order_date as date)
order by order_day
