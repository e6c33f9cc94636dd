//! Requests for infrastructure: their fields, the rules that keep them valid, the objects
//! they render to and the plan a reviewer approves.

pub mod bulk;
#[cfg(feature = "render")]
pub mod change;
pub mod fields;
pub mod lifecycle;
pub mod object_names;
#[cfg(feature = "render")]
pub mod plan;
mod reader;
#[cfg(feature = "render")]
pub mod render;
#[cfg(feature = "render")]
pub mod rules;
pub mod spec;
pub mod status;
pub mod submission;
pub mod view;

pub use spec::{
    AdoptSpec, AlbScheme, AlbSettings, AlbTargetType, CertificateSpec, Challenge, DecommissionSpec,
    EnvValue, ExposureSpec, ExposureVia, ExternalRef, ImportSpec, IngressClass, IngressSpec,
    NlbScheme, Protocol, RestoreObject, RestoreSpec, Scaling, ServiceSpec, Tls, Transport,
    looks_secret,
};
pub use status::RequestStatus;
pub use submission::{NewRequest, RequestKind, RequestSpec};
#[cfg(feature = "render")]
pub use view::RequestDetail;
pub use view::{RequestEvent, RequestLive, RequestQuery, RequestSummary};
