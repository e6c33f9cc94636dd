//! The `stargate` server: configuration, storage, the portal service layer and HTTP.

pub mod apply;
pub mod auth;
pub mod config;
pub mod demo;
pub mod drift;
pub mod http;
pub mod iac;
pub mod install;
pub mod portal;
pub mod seed;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod worker;
