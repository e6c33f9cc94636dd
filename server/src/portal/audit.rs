//! The audit log: admins read it; nobody writes it except the operations it records.

use domain::{Actor, AuditEvent, AuditQuery, Page, PortalError};

use super::{PortalService, unavailable};

impl PortalService {
    pub(super) async fn audit(
        &self,
        actor: &Actor,
        query: &AuditQuery,
    ) -> Result<Page<AuditEvent>, PortalError> {
        if !actor.may_administer() {
            return Err(PortalError::Forbidden("the audit log is for admins".into()));
        }
        self.store.audit_log(query).await.map_err(unavailable)
    }
}
