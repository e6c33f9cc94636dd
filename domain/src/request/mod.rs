//! Requests for infrastructure: their fields and the rules that keep them valid.

pub mod fields;
pub mod plan;
mod reader;
pub mod render;
pub mod rules;
pub mod spec;

pub use spec::{
    AlbScheme, AlbSettings, AlbTargetType, CertificateSpec, Challenge, IngressClass, IngressSpec,
    Protocol, ServiceSpec, Tls,
};
