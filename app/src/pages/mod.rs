pub mod catalog;
pub mod clusters;
pub mod hosts;
pub mod not_found;
pub mod service;
pub mod teams;
pub mod tokens;
