-- Catalog database autocorp_curated (Terraform creates it on AWS; kept here so any setup can run it).
-- One statement per file: Athena runs one statement per query.
create database if not exists autocorp_curated
