select
    date_format(o.order_date, '%Y-%m') as order_month,
    count(*) as orders,
    sum(o.total_amount) as revenue
from autocorp_curated.sales_order_rt as o
group by date_format(o.order_date, '%Y-%m')
order by order_month
