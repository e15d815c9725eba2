//! The transfer state machine: `requested → approved → received`, or `requested → rejected`,
//! or `requested → cancelled`. Nothing else moves, and the end states are final.

/// Where a transfer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransferStatus {
    Requested,
    Approved,
    Received,
    Rejected,
    Cancelled,
}

/// What someone asks a transfer to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransferAction {
    Approve,
    Reject,
    Receive,
    Cancel,
}

/// A transition the state machine does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{article} {from} transfer cannot be {verb}",
    article = if from.as_str().starts_with('a') { "an" } else { "a" },
    from = from.as_str(), verb = action.past_tense())]
pub struct TransitionError {
    pub from: TransferStatus,
    pub action: TransferAction,
}

impl TransferStatus {
    pub const ALL: [TransferStatus; 5] = [
        TransferStatus::Requested,
        TransferStatus::Approved,
        TransferStatus::Received,
        TransferStatus::Rejected,
        TransferStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransferStatus::Requested => "requested",
            TransferStatus::Approved => "approved",
            TransferStatus::Received => "received",
            TransferStatus::Rejected => "rejected",
            TransferStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<TransferStatus> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The event a transfer reaching this status writes (`transfer.approved`, …).
    pub fn event_type(self) -> &'static str {
        match self {
            TransferStatus::Requested => "transfer.requested",
            TransferStatus::Approved => "transfer.approved",
            TransferStatus::Received => "transfer.received",
            TransferStatus::Rejected => "transfer.rejected",
            TransferStatus::Cancelled => "transfer.cancelled",
        }
    }

    /// The status `action` leads to from this one.
    pub fn next(self, action: TransferAction) -> Result<TransferStatus, TransitionError> {
        use TransferAction as A;
        use TransferStatus as S;
        match (self, action) {
            (S::Requested, A::Approve) => Ok(S::Approved),
            (S::Requested, A::Reject) => Ok(S::Rejected),
            (S::Requested, A::Cancel) => Ok(S::Cancelled),
            (S::Approved, A::Receive) => Ok(S::Received),
            (from, action) => Err(TransitionError { from, action }),
        }
    }
}

impl TransferAction {
    pub const ALL: [TransferAction; 4] = [
        TransferAction::Approve,
        TransferAction::Reject,
        TransferAction::Receive,
        TransferAction::Cancel,
    ];

    pub fn past_tense(self) -> &'static str {
        match self {
            TransferAction::Approve => "approved",
            TransferAction::Reject => "rejected",
            TransferAction::Receive => "received",
            TransferAction::Cancel => "cancelled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_transitions_exist() {
        let mut allowed = Vec::new();
        for from in TransferStatus::ALL {
            for action in TransferAction::ALL {
                if let Ok(to) = from.next(action) {
                    allowed.push((from.as_str(), to.as_str()));
                }
            }
        }
        assert_eq!(
            allowed,
            [
                ("requested", "approved"),
                ("requested", "rejected"),
                ("requested", "cancelled"),
                ("approved", "received"),
            ]
        );
    }

    #[test]
    fn refusals_say_what_was_attempted() {
        let err = TransferStatus::Received
            .next(TransferAction::Cancel)
            .unwrap_err();
        assert_eq!(err.to_string(), "a received transfer cannot be cancelled");
        let err = TransferStatus::Approved
            .next(TransferAction::Approve)
            .unwrap_err();
        assert_eq!(err.to_string(), "an approved transfer cannot be approved");
        for status in TransferStatus::ALL {
            assert_eq!(TransferStatus::parse(status.as_str()), Some(status));
        }
    }
}
