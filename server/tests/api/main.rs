//! HTTP integration tests: the real server on a random port, a fresh database per test.
//! `on_both_databases!` runs one test body against SQLite and against PostgreSQL.

mod helpers;
mod kube_api;
mod oidc_provider;

mod adopt;
mod approved_changes;
mod audit;
mod auth;
mod authorization;
mod backup;
mod bulk_reviews;
mod catalog_api;
mod catalog_changes;
mod catalog_objects;
mod cli;
mod day_two;
mod drift;
mod drift_lease;
mod drift_watch;
mod events;
mod exposures;
mod forms;
mod health;
mod iac;
mod iac_browse;
mod iac_cli;
mod iac_crash;
mod identity;
mod import;
mod install_manifests;
mod live_status;
mod offboarding;
mod offboarding_pages;
mod openapi;
mod pages;
mod proxy;
mod requests;
mod restore;
mod reviews;
mod rolling_upgrade;
mod tokens_cli;
mod upgrades;
mod worker;
mod worker_processes;
