//! Authorization: the one place that answers "may this actor do X (in store S)". Every
//! handler and use case asks here; the HTTP suite's authorization matrix drives every route
//! through every role, so a route without a rule fails it.
//!
//! Rules (docs/API.md "Roles"): admins may do everything; managers everything inside their
//! stores except users of other roles and settings; cashiers sell; employees handle stock. An
//! API key acts with the role and stores it was given.

use ringup_core::ids::{ApiKeyId, StoreId, UserId};
use ringup_core::users::Role;
use ringup_store::checkout::shifts::ShiftRow;

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
}

impl Actor {
    pub fn can(&self, capability: Capability) -> bool {
        match capability {
            Capability::ManageUsers
            | Capability::ReadAudit
            | Capability::ManageRegisters
            | Capability::ManageCatalog
            | Capability::SuperviseSales => {
                matches!(self.role, Role::Admin | Role::Manager)
            }
            Capability::ManageApiKeys | Capability::VerifyAudit | Capability::ManageStores => {
                self.role == Role::Admin
            }
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
