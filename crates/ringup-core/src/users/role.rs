//! Roles. Invariant: exactly four, spelled in lower case on the wire and in storage.

use std::fmt;
use std::str::FromStr;

use super::UserError;

/// What a user or API key may do; docs/API.md ("Roles") has the full matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Manager,
    Cashier,
    Employee,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Cashier, Role::Employee];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Cashier => "cashier",
            Role::Employee => "employee",
        }
    }

    /// Accepts the lower-case name in any ASCII case (`Admin` from a CLI flag is fine); JSON
    /// bodies go through serde, which takes only the lower-case spelling.
    pub fn parse(s: &str) -> Result<Role, UserError> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(s))
            .ok_or(UserError::UnknownRole)
    }
}

impl FromStr for Role {
    type Err = UserError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::parse(s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
            assert_eq!(role.to_string().parse::<Role>(), Ok(role));
        }
        assert_eq!(Role::Admin.as_str(), "admin");
        assert_eq!(Role::Manager.as_str(), "manager");
        assert_eq!(Role::Cashier.as_str(), "cashier");
        assert_eq!(Role::Employee.as_str(), "employee");
    }

    #[test]
    fn parse_ignores_ascii_case() {
        assert_eq!(Role::parse("Admin"), Ok(Role::Admin));
        assert_eq!(Role::parse("CASHIER"), Ok(Role::Cashier));
    }

    #[test]
    fn parse_rejects_unknown_names() {
        for bad in ["", "root", "admins", " admin", "owner"] {
            assert_eq!(Role::parse(bad), Err(UserError::UnknownRole), "{bad:?}");
        }
        assert_eq!(
            UserError::UnknownRole.to_string(),
            "must be one of admin, manager, cashier, employee"
        );
    }

    #[test]
    fn serde_is_lowercase() {
        assert_eq!(
            serde_json::to_string(&Role::Manager).unwrap(),
            "\"manager\""
        );
        assert_eq!(
            serde_json::from_str::<Role>("\"employee\"").unwrap(),
            Role::Employee
        );
        let err = serde_json::from_str::<Role>("\"Admin\"").unwrap_err();
        assert!(err.to_string().contains("unknown variant"), "{err}");
    }
}
