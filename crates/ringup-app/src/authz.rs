//! Authorization: the one place that answers "may this actor do X (in store S)". Every
//! handler and use case asks here; the HTTP suite's authorization matrix drives every route
//! through every role, so a route without a rule fails it.
//!
//! Rules (docs/API.md "Roles"): admins may do everything; managers everything inside their
//! stores except users of other roles and settings; cashiers sell; employees handle stock. An
//! API key acts with the role and stores it was given.

use ringup_core::ids::{ApiKeyId, StoreId, UserId};
use ringup_core::stock::TransferAction;
use ringup_core::users::Role;
use ringup_store::checkout::shifts::ShiftRow;
use ringup_store::stock::transfers::TransferRow;

/// Who performs an operation: a signed-in user or an API key, with the role and stores it
/// acts with. How it authenticated (session, token, cookie) is the HTTP layer's business.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub role: Role,
    pub store_ids: Vec<StoreId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorKind {
    User(UserId),
    ApiKey(ApiKeyId),
}

impl Actor {
    /// The actor id recorded in the audit log and scoping idempotency keys.
    pub fn actor_id(&self) -> String {
        match self.kind {
            ActorKind::User(user) => user.to_string(),
            ActorKind::ApiKey(key) => format!("api_key:{key}"),
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        match self.kind {
            ActorKind::User(user) => Some(user),
            ActorKind::ApiKey(_) => None,
        }
    }
}

/// Things a actor may be allowed to do, beyond what every authenticated caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    /// List, create and change users (managers: only cashiers and employees of their stores).
    ManageUsers,
    /// Create, list and revoke API keys.
    ManageApiKeys,
    /// Read the audit log (managers: their stores' events).
    ReadAudit,
    /// Verify the audit chain.
    VerifyAudit,
    /// Create stores and change their settings.
    ManageStores,
    /// Add registers to a store the actor sees.
    ManageRegisters,
    /// Create tax classes and categories (everyone authenticated may list them).
    ManageCatalog,
    /// Read, create and change customers (checkout staff: everyone but employees).
    ManageCustomers,
    /// Open shifts, ring up sales, take returns, read sales (everyone but employees).
    Sell,
    /// Void sales, override prices, act on other cashiers' shifts (admins and managers).
    SuperviseSales,
    /// Read reports and export them (admins: every store; managers: theirs).
    ReadReports,
    /// Read the recorded server errors (5xx answers and panics).
    ReadErrors,
}

impl Actor {
    pub fn can(&self, capability: Capability) -> bool {
        match capability {
            Capability::ManageUsers
            | Capability::ReadAudit
            | Capability::ManageRegisters
            | Capability::ManageCatalog
            | Capability::SuperviseSales
            | Capability::ReadReports => {
                matches!(self.role, Role::Admin | Role::Manager)
            }
            Capability::ManageApiKeys
            | Capability::VerifyAudit
            | Capability::ManageStores
            | Capability::ReadErrors => self.role == Role::Admin,
            Capability::ManageCustomers | Capability::Sell => self.role != Role::Employee,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Admins see every store; anyone else only the stores they were given.
    pub fn sees_store(&self, store: StoreId) -> bool {
        self.is_admin() || self.store_ids.contains(&store)
    }

    /// The stores a list must be limited to: `None` for admins (all stores).
    pub fn store_scope(&self) -> Option<&[StoreId]> {
        (!self.is_admin()).then_some(self.store_ids.as_slice())
    }

    /// Whether this actor may manage a user with `role` in `stores`: admins any user;
    /// managers cashiers and employees whose every store is one of the manager's (and who have
    /// at least one, or the manager could never see them again).
    pub fn may_manage_user(&self, role: Role, stores: &[StoreId]) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Manager => {
                matches!(role, Role::Cashier | Role::Employee)
                    && !stores.is_empty()
                    && stores.iter().all(|s| self.store_ids.contains(s))
            }
            Role::Cashier | Role::Employee => false,
        }
    }

    /// The roles of users this actor may see in its stores: `None` for admins (everyone).
    pub fn visible_user_roles(&self) -> Option<&'static [Role]> {
        match self.role {
            Role::Admin => None,
            Role::Manager => Some(&[Role::Cashier, Role::Employee]),
            Role::Cashier | Role::Employee => Some(&[]),
        }
    }

    /// Whether this actor may see a user with `role` in `stores` (managers: cashiers and
    /// employees sharing a store with them).
    pub fn may_see_user(&self, role: Role, stores: &[StoreId]) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Manager | Role::Cashier | Role::Employee => {
                self.visible_user_roles()
                    .is_some_and(|roles| roles.contains(&role))
                    && stores.iter().any(|s| self.store_ids.contains(s))
            }
        }
    }
    /// Cashiers sell (and take returns) only in their own shifts; supervisors in any shift of
    /// their stores; an API key (a terminal, no person) in any shift of its stores.
    pub fn may_sell_on(&self, shift: &ShiftRow) -> bool {
        self.role != Role::Cashier || self.user_id().is_none_or(|user| user == shift.cashier_id)
    }

    /// Whether the actor may move a shift's cash or close it: its cashier, or a supervisor.
    pub fn may_act_on_drawer(&self, shift: &ShiftRow) -> bool {
        self.can(Capability::SuperviseSales) || self.user_id() == Some(shift.cashier_id)
    }

    /// A transfer is seen by whoever sees either of its stores.
    pub fn sees_transfer(&self, transfer: &TransferRow) -> bool {
        self.sees_store(transfer.from_store_id) || self.sees_store(transfer.to_store_id)
    }

    /// Whether this actor may take `action` on a transfer it sees: the source's managers
    /// approve and reject; the destination's managers and employees receive; the requester or
    /// a manager of either store cancels. Admins manage every store. (Cashiers take no part in
    /// transfers at all, which the caller checks first.)
    pub fn may_act_on_transfer(&self, transfer: &TransferRow, action: TransferAction) -> bool {
        let manages = |store: StoreId| {
            self.is_admin() || (self.role == Role::Manager && self.sees_store(store))
        };
        match action {
            TransferAction::Approve | TransferAction::Reject => manages(transfer.from_store_id),
            TransferAction::Receive => {
                manages(transfer.to_store_id)
                    || (self.role == Role::Employee && self.sees_store(transfer.to_store_id))
            }
            TransferAction::Cancel => {
                self.actor_id() == transfer.requested_by
                    || manages(transfer.from_store_id)
                    || manages(transfer.to_store_id)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringup_core::ids::UserId;

    fn actor(role: Role, stores: &[StoreId]) -> Actor {
        Actor {
            kind: ActorKind::User(UserId::new()),
            role,
            store_ids: stores.to_vec(),
        }
    }

    #[test]
    fn managers_manage_only_staff_of_their_own_stores() {
        let (a, b) = (StoreId::new(), StoreId::new());
        let manager = actor(Role::Manager, &[a]);
        assert!(manager.may_manage_user(Role::Cashier, &[a]));
        assert!(manager.may_manage_user(Role::Employee, &[a]));
        assert!(!manager.may_manage_user(Role::Cashier, &[a, b]));
        assert!(!manager.may_manage_user(Role::Cashier, &[]));
        assert!(!manager.may_manage_user(Role::Manager, &[a]));
        assert!(!manager.may_manage_user(Role::Admin, &[a]));
        assert!(!manager.may_see_user(Role::Cashier, &[b]));
        assert!(manager.may_see_user(Role::Cashier, &[a, b]));
    }

    fn transfer(from: StoreId, to: StoreId, requested_by: &Actor) -> TransferRow {
        TransferRow {
            id: ringup_core::ids::TransferId::new(),
            from_store_id: from,
            to_store_id: to,
            status: ringup_core::stock::TransferStatus::Requested,
            note: None,
            lines: Vec::new(),
            requested_by: requested_by.actor_id(),
            approved_by: None,
            approved_at: None,
            received_by: None,
            received_at: None,
            rejected_by: None,
            rejected_at: None,
            reject_reason: None,
            cancelled_by: None,
            cancelled_at: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn the_source_approves_the_destination_receives_and_either_side_cancels() {
        use TransferAction::{Approve, Cancel, Receive, Reject};
        let (a, b, c) = (StoreId::new(), StoreId::new(), StoreId::new());
        let employee_b = actor(Role::Employee, &[b]);
        let t = transfer(a, b, &employee_b);
        let manager_a = actor(Role::Manager, &[a]);
        let manager_b = actor(Role::Manager, &[b]);
        let employee_a = actor(Role::Employee, &[a]);
        let admin = actor(Role::Admin, &[]);
        let outsider = actor(Role::Manager, &[c]);
        let may = |who: &Actor, action| who.may_act_on_transfer(&t, action);
        assert!(may(&manager_a, Approve) && may(&manager_a, Reject));
        assert!(!may(&manager_b, Approve) && !may(&employee_a, Reject));
        assert!(may(&employee_b, Receive) && may(&manager_b, Receive));
        assert!(!may(&manager_a, Receive) && !may(&employee_a, Receive));
        assert!(may(&employee_b, Cancel), "the requester");
        assert!(may(&manager_a, Cancel) && may(&manager_b, Cancel));
        assert!(!may(&employee_a, Cancel));
        for action in [Approve, Reject, Receive, Cancel] {
            assert!(may(&admin, action));
        }
        assert!(!outsider.sees_transfer(&t));
        assert!(employee_a.sees_transfer(&t) && employee_b.sees_transfer(&t));
    }

    #[test]
    fn capabilities_by_role() {
        let admin = actor(Role::Admin, &[]);
        let manager = actor(Role::Manager, &[]);
        let cashier = actor(Role::Cashier, &[]);
        assert!(admin.can(Capability::VerifyAudit) && admin.can(Capability::ManageApiKeys));
        assert!(manager.can(Capability::ManageUsers) && manager.can(Capability::ReadAudit));
        assert!(!manager.can(Capability::ManageApiKeys) && !manager.can(Capability::VerifyAudit));
        for cap in [
            Capability::ManageUsers,
            Capability::ManageApiKeys,
            Capability::ReadAudit,
            Capability::VerifyAudit,
        ] {
            assert!(!cashier.can(cap));
        }
        let employee = actor(Role::Employee, &[]);
        assert!(cashier.can(Capability::ManageCustomers));
        assert!(manager.can(Capability::ManageCustomers));
        assert!(!employee.can(Capability::ManageCustomers));
    }
}
