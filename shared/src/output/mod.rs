//! What comes out of a guard: the verdict on one event and its alert.
//!
//! Layer: output, rendering a report (the alert, Security Hub's format,
//! chat, SARIF for code scanning). May import the report and the layers
//! below it.

pub mod asff;
pub mod chatbot;
pub mod map;
pub mod notify;
pub mod sarif;
