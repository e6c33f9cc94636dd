pub mod empty_state;
pub mod error_panel;
pub mod filter_select;
pub mod layout;
pub mod pagination;
pub mod plan;
pub mod status_badge;
pub mod timestamp;
