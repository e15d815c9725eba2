//! Customers' contact details. CONTRACT: helper implements (phone numbers through a well-kept
//! phone-number crate, e.g. `phonenumber`).
